"""Every error the service raises on purpose, with the data a client needs to act on it.

The tree (the gRPC code each maps to is decided once, in service/status.py):

    OrdersError
    ├── InvalidArgument            INVALID_ARGUMENT  bad input, with field violations
    ├── NotFound                   NOT_FOUND         no such resource (or already deleted, for Delete)
    ├── AlreadyExists              ALREADY_EXISTS    a unique value is taken
    │   └── NotDeleted                               Undelete of a live resource (AIP-164)
    ├── FailedPrecondition         FAILED_PRECONDITION  the state forbids it; don't retry until it changes
    │   ├── InsufficientStock                        one entry per short product
    │   ├── InvalidStatusTransition
    │   ├── NotOrderable                             customer or product deleted or inactive
    │   ├── StockBelowReserved                       on hand would fall below the reserved units
    │   ├── CountBelowReserved                       a count below the reserved units, with the orders holding them
    │   ├── ExceedsOpenQuantity                      a shipment line above its open quantity
    │   └── ResumeTokenExpired                       a watch token older than the event retention
    ├── Stale                      ABORTED           changed since the client read it; re-read, then retry
    │   ├── EtagMismatch                             the etag sent is not the resource's
    │   └── StockMoved                               on hand is no longer what a count expected
    ├── LockContention             ABORTED           deadlock or lock wait; retry the whole call
    │   ├── KeyTaken                                 a concurrent call stored the idempotency key first
    │   └── WatchTooSlow                             a watcher overflowed its queue; resume from its token
    ├── StorageUnavailable         UNAVAILABLE       the database is unreachable; retry later
    │
    │   raised by the interceptors, before or around a use case:
    ├── Unauthenticated            UNAUTHENTICATED   no, expired or badly signed token
    ├── PermissionDenied           PERMISSION_DENIED the token lacks the method's role
    │   └── NoPolicy                                 the method declares no policy: denied by default
    ├── RateLimited                RESOURCE_EXHAUSTED  over the limit; RetryInfo says when to retry
    │   ├── TooManyStreams                           every slot for streams that need no token is taken
    │   └── TooManyWatchers                          every WatchOrderEvents slot of this process is taken
    ├── IdempotencyKeyInUse        ABORTED           the first call with this key is still running
    └── (InvalidArgument)
        ├── MalformedRequest                         the bytes do not parse as the request message
        ├── InvalidIdempotencyKey                    not 1-255 printable ASCII characters
        └── IdempotencyKeyReused                     same key, different request
"""

from __future__ import annotations

from dataclasses import dataclass


class OrdersError(Exception):
    """Base class. `reason` is the stable, machine-readable ErrorInfo reason."""

    reason = "ERROR"

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
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], reason: str | None = None) -> None:
        # A violation with no field is about the request as a whole.
        super().__init__("; ".join(f"{v.field}: {v.description}" if v.field else v.description for v in violations))
        self.violations = violations
        if reason:
            self.reason = reason


class NotFound(OrdersError):
    reason = "NOT_FOUND"

    def __init__(self, resource: str, resource_id: str) -> None:
        super().__init__(f"{resource} {resource_id!r} not found", resource=resource, id=resource_id)
        self.resource = resource
        self.resource_id = resource_id


class AlreadyExists(OrdersError):
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


@dataclass(frozen=True)
class PreconditionViolation:
    """One google.rpc.PreconditionFailure entry: type, subject and description."""

    type: str
    subject: str
    description: str


class FailedPrecondition(OrdersError):
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
class OverShipped:
    product_id: str
    requested: int
    open: int | None  # None: the product is not on the order
    index: int  # the line's position in the request


class ExceedsOpenQuantity(FailedPrecondition):
    """Shipment lines above what their order lines still have open, each named."""

    reason = "EXCEEDS_OPEN_QUANTITY"

    def __init__(self, order_id: str, lines: list[OverShipped]) -> None:
        def text(line: OverShipped) -> str:
            if line.open is None:
                return f"product {line.product_id} is not on the order"
            return f"product {line.product_id}: requested {line.requested}, open {line.open}"

        super().__init__(
            f"order {order_id}: " + "; ".join(text(line) for line in lines),
            order_id=order_id, product_ids=",".join(line.product_id for line in lines),
        )
        self.violations = [
            PreconditionViolation("NOT_ON_ORDER" if line.open is None else "OPEN_QUANTITY", f"items[{line.index}]", text(line))
            for line in lines
        ]


class Stale(OrdersError):
    """The resource changed since the client read it: re-read it and retry the read-modify-write."""


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


class LockContention(OrdersError):
    reason = "LOCK_CONTENTION"

    def __init__(self, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempts on lock contention; retry the call", attempts=str(attempts))
        self.attempts = attempts


class KeyTaken(LockContention):
    """The INSERT of a row met its idempotency key already stored: a re-run replays that row."""

    def __init__(self) -> None:
        super().__init__(1)


class StorageUnavailable(OrdersError):
    reason = "STORAGE_UNAVAILABLE"

    def __init__(self) -> None:
        super().__init__("the database is unavailable; retry later")


class Unauthenticated(OrdersError):
    reason = "UNAUTHENTICATED"

    def __init__(self, why: str) -> None:
        super().__init__(f"authentication failed: {why}")


class PermissionDenied(OrdersError):
    reason = "PERMISSION_DENIED"

    def __init__(self, principal: str, role: str) -> None:
        super().__init__(f"{principal!r} lacks the role {role!r}", principal=principal, role=role)


class NoPolicy(PermissionDenied):
    reason = "NO_POLICY"

    def __init__(self, method: str) -> None:
        OrdersError.__init__(self, f"{method} declares no policy, so nobody may call it", method=method)


class RateLimited(OrdersError):
    reason = "RATE_LIMITED"

    def __init__(self, method_class: str, retry_after_s: float) -> None:
        super().__init__(f"too many {method_class} calls; retry in {retry_after_s:.3f} s", method_class=method_class)
        self.retry_after_s = retry_after_s


class TooManyStreams(RateLimited):
    reason = "TOO_MANY_STREAMS"

    def __init__(self) -> None:
        super().__init__("unauthenticated stream (reflection, health Watch)", 1.0)


class IdempotencyKeyInUse(OrdersError):
    reason = "IDEMPOTENCY_KEY_IN_USE"

    def __init__(self) -> None:
        super().__init__("a request with this idempotency key is still in progress; retry shortly")


class MalformedRequest(InvalidArgument):
    def __init__(self, message_type: str) -> None:
        violation = FieldViolation("", f"the request is not a serialized {message_type}", "MALFORMED_REQUEST")
        super().__init__([violation], reason="MALFORMED_REQUEST")


class InvalidIdempotencyKey(InvalidArgument):
    def __init__(self) -> None:
        violation = FieldViolation("idempotency-key", "must be 1 to 255 printable ASCII characters", "INVALID_IDEMPOTENCY_KEY")
        super().__init__([violation], reason="INVALID_IDEMPOTENCY_KEY")


class IdempotencyKeyReused(InvalidArgument):
    def __init__(self) -> None:
        violation = FieldViolation("idempotency-key", "was already used with a different request", "IDEMPOTENCY_KEY_REUSED")
        super().__init__([violation], reason="IDEMPOTENCY_KEY_REUSED")


class ResumeTokenExpired(FailedPrecondition):
    reason = "RESUME_TOKEN_EXPIRED"

    def __init__(self, retention_s: float) -> None:
        super().__init__(
            f"the resume token is older than the event retention ({retention_s:g} s); watch from now and re-read state",
            retention_s=f"{retention_s:g}",
        )


class WatchTooSlow(LockContention):
    """A watcher read more slowly than events arrived and overflowed its queue: ABORTED, resume from the token."""

    reason = "WATCH_TOO_SLOW"

    def __init__(self, resume_token: str) -> None:
        OrdersError.__init__(self, "the stream fell too far behind; reconnect with resume_token", resume_token=resume_token)
        self.attempts = 0


class TooManyWatchers(RateLimited):
    reason = "TOO_MANY_WATCHERS"

    def __init__(self) -> None:
        super().__init__("WatchOrderEvents stream", 1.0)
