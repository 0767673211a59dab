"""Every error the domain and its adapters raise on purpose, with the data a client needs to act on it.

Each class declares its status once, as python-api-core's exceptions do: `code` (google.rpc.Code,
as `Code` here: the domain imports no grpc), `reason` (the stable ErrorInfo reason) and, for errors
worth retrying, `retry_after_s`. A subclass inherits them or declares its own; service/grpc/status.py
turns any of them into a gRPC status, and the gateway maps that status to HTTP, for REST and SSE alike.
The errors of the edge (authentication, policy, rate limits, idempotency-key transport, streams)
live at the edge: service/grpc/errors.py.

    OrdersError                    INTERNAL          (base)
    ├── InvalidArgument            INVALID_ARGUMENT  bad input, with field violations
    │   ├── IdempotencyKeyReused                     same key, different request
    │   └── DuplicateProduct                         an amendment naming a product twice
    ├── NotFound                   NOT_FOUND         no such resource (or already deleted, for Delete)
    ├── AlreadyExists              ALREADY_EXISTS    a unique value is taken
    │   ├── NotDeleted                               Undelete of a live resource (AIP-164)
    │   └── ReferenceTaken                           the customer has an order with this external_reference
    ├── FailedPrecondition         FAILED_PRECONDITION  the state forbids it; don't retry until it changes
    │   ├── InsufficientStock                        one entry per short product
    │   ├── InvalidStatusTransition
    │   ├── NotOrderable                             customer or product deleted or inactive
    │   ├── StockBelowReserved                       on hand would fall below the reserved units
    │   ├── CountBelowReserved                       a count below the reserved units, with the orders holding them
    │   ├── ExceedsOpenQuantity                      a shipment line above its open quantity
    │   ├── ExceedsShippedQuantity                   a return line above the units shipped and not yet returned
    │   ├── NotAmendable                             an amendment of an order past CONFIRMED, or canceled
    │   ├── BelowFulfilled                           an amended line below its shipped and canceled units
    │   └── AmendmentEmptiesOrder                    an amendment that would leave no line
    ├── Stale                      ABORTED           changed since the client read it; re-read, then retry
    │   ├── EtagMismatch                             the etag sent is not the resource's
    │   └── StockMoved                               on hand is no longer what a count expected
    ├── Rerun                      ABORTED           a concurrent change; re-running the whole use case settles it
    │   ├── LockContention                           deadlock or lock wait (what a client sees once re-runs run out)
    │   └── KeyTaken                                 a concurrent call stored the idempotency key first
    └── StorageUnavailable         UNAVAILABLE       the database is unreachable; retry later
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar


class Code(IntEnum):
    """The google.rpc.Code values the service answers with."""

    INVALID_ARGUMENT = 3
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    INTERNAL = 13
    UNAVAILABLE = 14
    UNAUTHENTICATED = 16


class OrdersError(Exception):
    """Base class. `code` and `reason` say what the client gets; `retry_after_s`, when to try again."""

    code: ClassVar[Code] = Code.INTERNAL
    reason = "ERROR"
    retry_after_s: float | None = None

    def __init__(self, message: str, **metadata: str) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = metadata


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str
    reason: str = "INVALID"


class InvalidArgument(OrdersError):
    code = Code.INVALID_ARGUMENT
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], reason: str | None = None) -> None:
        # A violation with no field is about the request as a whole.
        super().__init__("; ".join(f"{v.field}: {v.description}" if v.field else v.description for v in violations))
        self.violations = violations
        if reason:
            self.reason = reason


class NotFound(OrdersError):
    code = Code.NOT_FOUND
    reason = "NOT_FOUND"

    def __init__(self, resource: str, resource_id: str, *more_ids: str) -> None:
        """One missing resource, or several of one kind (a batch read is all or nothing)."""
        ids = (resource_id, *more_ids)
        named = ", ".join(repr(i) for i in ids)
        super().__init__(f"{resource}{'s' if more_ids else ''} {named} not found", resource=resource, id=",".join(ids))
        self.resource = resource
        self.resource_id = resource_id
        self.resource_ids = ids


class AlreadyExists(OrdersError):
    code = Code.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"

    def __init__(self, resource: str, field: str, value: str) -> None:
        super().__init__(
            f"a {resource} with this {field} already exists (deleted ones included)",
            resource=resource,
            field=field,
        )
        self.resource = resource
        self.field = field
        self.value = value


class NotDeleted(AlreadyExists):
    reason = "NOT_DELETED"

    def __init__(self, resource: str, resource_id: str) -> None:
        OrdersError.__init__(self, f"{resource} {resource_id!r} is not deleted", resource=resource, id=resource_id)
        self.resource = resource
        self.field = "id"
        self.value = resource_id


class ReferenceTaken(AlreadyExists):
    reason = "EXTERNAL_REFERENCE_TAKEN"

    def __init__(self, customer_id: str, reference: str, order_id: str) -> None:
        OrdersError.__init__(
            self,
            f"customer {customer_id} already has order {order_id} with external_reference {reference!r}",
            resource="order", id=order_id, customer_id=customer_id, external_reference=reference,
        )
        self.resource = "order"
        self.field = "external_reference"
        self.value = reference
        self.order_id = order_id


@dataclass(frozen=True)
class PreconditionViolation:
    """One google.rpc.PreconditionFailure entry: type, subject and description."""

    type: str
    subject: str
    description: str


class FailedPrecondition(OrdersError):
    code = Code.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"
    violations: list[PreconditionViolation] = []


@dataclass(frozen=True)
class Shortage:
    product_id: str
    requested: int
    available: int


class InsufficientStock(FailedPrecondition):
    reason = "INSUFFICIENT_STOCK"

    def __init__(self, shortages: list[Shortage]) -> None:
        super().__init__(
            "insufficient stock for " + ", ".join(
                f"product {s.product_id} (requested {s.requested}, available {s.available})" for s in shortages
            ),
            product_ids=",".join(s.product_id for s in shortages),
        )
        self.shortages = shortages
        self.violations = [
            PreconditionViolation(
                "STOCK", f"products/{s.product_id}", f"requested {s.requested}, available {s.available}"
            )
            for s in shortages
        ]


def _transition_text(order_id: str, current: str, target: str) -> str:
    """Says what the caller can do next, not only what it may not."""
    if current == "CANCELED":
        return f"order {order_id} is already canceled" if target == "CANCELED" else f"order {order_id} is canceled: its status can no longer change"
    if current == "DELIVERED":
        return f"order {order_id} is delivered: its status can no longer change"
    if current == target:
        return f"order {order_id} is already {current.lower()}: nothing is open"
    if target == "CANCELED":
        return f"order {order_id} is {current.lower().replace('_', ' ')}: only orders with open units can be canceled"
    return f"order {order_id} is {current.lower().replace('_', ' ')}: it cannot move to {target.lower().replace('_', ' ')}"


class InvalidStatusTransition(FailedPrecondition):
    reason = "INVALID_STATUS_TRANSITION"

    def __init__(self, order_id: str, current: str, target: str) -> None:
        super().__init__(
            _transition_text(order_id, current, target),
            order_id=order_id,
            current_status=current,
            target_status=target,
        )
        self.violations = [
            PreconditionViolation("STATUS", f"orders/{order_id}", f"status is {current}; {target} is not allowed")
        ]


class NotOrderable(FailedPrecondition):
    """A customer or product that is deleted or inactive takes part in an order."""

    def __init__(self, resource: str, resource_id: str, why: str) -> None:
        super().__init__(f"{resource} {resource_id} is {why}", resource=resource, id=resource_id, state=why)
        self.reason = f"{resource.upper()}_{why.upper()}"
        self.violations = [PreconditionViolation(why.upper(), f"{resource}s/{resource_id}", f"{resource} is {why}")]


class StockBelowReserved(FailedPrecondition):
    reason = "STOCK_BELOW_RESERVED"

    def __init__(self, product_id: str, on_hand: int, reserved: int) -> None:
        super().__init__(
            f"product {product_id}: on hand would be {on_hand}, below the {reserved} units open orders reserve",
            product_id=product_id, on_hand=str(on_hand), reserved=str(reserved),
        )
        self.violations = [PreconditionViolation("STOCK", f"products/{product_id}", f"on hand {on_hand}, reserved {reserved}")]


class CountBelowReserved(FailedPrecondition):
    reason = "COUNT_BELOW_RESERVED"

    def __init__(self, product_id: str, counted: int, reserved: int, order_ids: list[str]) -> None:
        super().__init__(
            f"product {product_id}: counted {counted}, but open orders reserve {reserved}; "
            "ship or cancel them first (orders: " + ", ".join(order_ids) + ")",
            product_id=product_id, counted=str(counted), reserved=str(reserved), order_ids=",".join(order_ids),
        )
        self.violations = [PreconditionViolation("RESERVATION", f"orders/{oid}", "holds units of this product") for oid in order_ids]


@dataclass(frozen=True)
class OverLine:
    """A shipment or return line above what its order line allows."""

    product_id: str
    requested: int
    limit: int | None  # what the line allows (open units, or shipped units not yet returned); None: not on the order
    index: int  # the line's position in the request


class _LinesOver(FailedPrecondition):
    """Request lines above what their order lines allow, each named by its position."""

    limit_text: ClassVar[str]
    limit_type: ClassVar[str]

    def __init__(self, order_id: str, lines: list[OverLine]) -> None:
        def text(line: OverLine) -> str:
            if line.limit is None:
                return f"product {line.product_id} is not on the order"
            return f"product {line.product_id}: requested {line.requested}, {self.limit_text} {line.limit}"

        super().__init__(
            f"order {order_id}: " + "; ".join(text(line) for line in lines),
            order_id=order_id, product_ids=",".join(line.product_id for line in lines),
        )
        self.violations = [
            PreconditionViolation("NOT_ON_ORDER" if line.limit is None else self.limit_type, f"items[{line.index}]", text(line))
            for line in lines
        ]


class ExceedsOpenQuantity(_LinesOver):
    """Shipment lines above what their order lines still have open."""

    reason = "EXCEEDS_OPEN_QUANTITY"
    limit_text, limit_type = "open", "OPEN_QUANTITY"


class ExceedsShippedQuantity(_LinesOver):
    """Return lines above what their order lines shipped and have not returned yet."""

    reason = "EXCEEDS_SHIPPED_QUANTITY"
    limit_text, limit_type = "shipped and not yet returned", "SHIPPED_QUANTITY"
class NotAmendable(FailedPrecondition):
    reason = "ORDER_NOT_AMENDABLE"

    def __init__(self, order_id: str, current: str) -> None:
        super().__init__(
            f"order {order_id} is {current.lower().replace('_', ' ')}: only pending or confirmed orders can be amended",
            order_id=order_id, current_status=current,
        )
        self.violations = [PreconditionViolation("STATUS", f"orders/{order_id}", f"status is {current}; amendments need PENDING or CONFIRMED")]


@dataclass(frozen=True)
class Fulfilled:
    """An amended line and the units it has shipped or canceled, below which it cannot go."""

    product_id: str
    requested: int
    floor: int
    index: int  # the entry's position in the request


class BelowFulfilled(FailedPrecondition):
    reason = "BELOW_FULFILLED_QUANTITY"

    def __init__(self, order_id: str, lines: list[Fulfilled]) -> None:
        def text(line: Fulfilled) -> str:
            return f"product {line.product_id}: new quantity {line.requested}, below the {line.floor} units shipped or canceled"

        super().__init__(f"order {order_id}: " + "; ".join(text(line) for line in lines), order_id=order_id)
        self.violations = [PreconditionViolation("FULFILLED_QUANTITY", f"items[{line.index}]", text(line)) for line in lines]


class AmendmentEmptiesOrder(FailedPrecondition):
    reason = "ORDER_WOULD_BE_EMPTY"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"the amendment would leave order {order_id} without lines; cancel it instead", order_id=order_id)
        self.violations = [PreconditionViolation("LINES", f"orders/{order_id}", "an order keeps at least one line; use CancelOrder")]


class AmendmentTooManyLines(FailedPrecondition):
    reason = "TOO_MANY_LINES"

    def __init__(self, order_id: str, lines: int, limit: int) -> None:
        super().__init__(f"the amendment would give order {order_id} {lines} lines; an order has at most {limit}", order_id=order_id)
        self.violations = [PreconditionViolation("LINES", f"orders/{order_id}", f"an order has at most {limit} lines, as CreateOrder takes")]


class Stale(OrdersError):
    """The resource changed since the client read it: re-read it and retry the read-modify-write."""

    code = Code.ABORTED


class EtagMismatch(Stale):
    reason = "ETAG_MISMATCH"

    def __init__(self, resource: str, resource_id: str, sent: str, current: str) -> None:
        super().__init__(
            f"{resource} {resource_id} changed since it was read (etag {sent!r}, now {current!r}); read it again",
            resource=resource, id=resource_id, etag=current,
        )


class StockMoved(Stale):
    reason = "STOCK_MOVED"

    def __init__(self, product_id: str, expected: int, on_hand: int) -> None:
        super().__init__(
            f"product {product_id}: on hand is {on_hand}, not the {expected} the count was taken against; count again",
            product_id=product_id, expected_on_hand=str(expected), on_hand=str(on_hand),
        )


class Rerun(OrdersError):
    """A concurrent change got in the way: re-running the whole use case, in a fresh transaction,
    settles it (service/usecases/retry.py re-runs it, up to its attempts)."""

    code = Code.ABORTED
    reason = "LOCK_CONTENTION"
    retry_after_s = 0.05


class LockContention(Rerun):
    def __init__(self, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempts on lock contention; retry the call", attempts=str(attempts))
        self.attempts = attempts


class KeyTaken(Rerun):
    """The INSERT of a row met its idempotency key already stored: a re-run replays that row."""

    def __init__(self) -> None:
        super().__init__("a concurrent call stored this idempotency key first")


class StorageUnavailable(OrdersError):
    code = Code.UNAVAILABLE
    reason = "STORAGE_UNAVAILABLE"
    retry_after_s = 1.0

    def __init__(self) -> None:
        super().__init__("the database is unavailable; retry later")


class IdempotencyKeyReused(InvalidArgument):
    def __init__(self) -> None:
        violation = FieldViolation("idempotency-key", "was already used with a different request", "IDEMPOTENCY_KEY_REUSED")
        super().__init__([violation], reason="IDEMPOTENCY_KEY_REUSED")


class DuplicateProduct(InvalidArgument):
    def __init__(self, indexes: list[tuple[int, str]]) -> None:
        super().__init__(
            [FieldViolation(f"items[{i}].product_id", f"names product {pid} again: one entry per product", "DUPLICATE_PRODUCT") for i, pid in indexes],
            reason="DUPLICATE_PRODUCT",
        )
