"""The domain's values: customers, products, orders, the stock ledger and status history."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class OrderStatus(enum.IntEnum):
    # Values equal the proto enum's, so conversions are a plain cast.
    PENDING = 1
    CONFIRMED = 2
    PICKED = 3
    SHIPPED = 4
    DELIVERED = 5
    CANCELED = 6
    PARTIALLY_SHIPPED = 7


class MovementKind(enum.IntEnum):
    INITIAL = 1
    ORDER = 2
    CANCEL = 3
    ADJUSTMENT = 4
    SHIPMENT = 5
    COUNT = 6
    RETURN = 7



class Stock(NamedTuple):
    """A product's stock figures after a change: what set_stock writes."""

    available: int
    reserved: int



@dataclass(frozen=True)
class Caller:
    """Who is asking, for the audit trail: recorded on history and ledger rows."""

    actor: str
    request_id: str


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's idempotency key, scoped to its principal, and the fingerprint of its request.

    Stored on the row a create writes, in the same transaction, so that a retry finds it even
    when the fast store (Redis) has lost the key.
    """

    principal: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class PostalAddress:
    """google.type.PostalAddress as a value: where an order ships, or a customer lives."""

    region_code: str
    address_lines: tuple[str, ...] = ()
    postal_code: str = ""
    administrative_area: str = ""
    locality: str = ""
    sublocality: str = ""
    recipients: tuple[str, ...] = ()
    organization: str = ""
    language_code: str = ""
    sorting_code: str = ""


@dataclass
class Customer:
    id: str
    name: str
    document: str
    email: str
    phone: str
    address: str
    active: bool
    create_time: datetime
    update_time: datetime
    delete_time: datetime | None = None
    # Structured, beside the free-text `address`: what orders placed without an address ship to.
    postal_address: PostalAddress | None = None


@dataclass
class Product:
    id: str
    sku: str
    name: str
    description: str
    price: Decimal
    currency: str
    stock_quantity: int  # available: on hand minus reserved, what an order can take
    active: bool
    create_time: datetime
    update_time: datetime
    delete_time: datetime | None = None
    # The sequence of the product's last stock event: its ledger rows, counted.
    stock_sequence: int = 0
    reserved_quantity: int = 0  # promised to open order lines, not yet shipped

    @property
    def on_hand_quantity(self) -> int:
        return self.stock_quantity + self.reserved_quantity


@dataclass(frozen=True)
class OrderLine:
    """A requested line before pricing: what the client asked for."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class OrderItem:
    product_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    shipped_quantity: int = 0
    canceled_quantity: int = 0
    returned_quantity: int = 0  # of the shipped units, never more than them

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def open_quantity(self) -> int:
        """Units still reserved for this line."""
        return self.quantity - self.shipped_quantity - self.canceled_quantity


@dataclass
class Order:
    id: str
    customer_id: str
    status: OrderStatus
    items: list[OrderItem]
    currency: str
    note: str
    create_time: datetime
    update_time: datetime
    # The client's own reference (an ERP order number, a PO number); "" when unset.
    external_reference: str = ""
    # A snapshot taken when the order was placed: the request's, or else the customer's.
    shipping_address: PostalAddress | None = None
    # 1 when placed, one more with every change: numbers the order's events and is its etag.
    version: int = 1

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def total(self) -> Decimal:
        return sum((item.subtotal for item in self.items), Decimal(0))

    @property
    def open_quantity(self) -> int:
        return sum(item.open_quantity for item in self.items)


@dataclass(frozen=True)
class StockMovement:
    id: str
    product_id: str
    kind: MovementKind
    delta: int
    stock_after: int
    order_id: str
    reason: str
    actor: str
    request_id: str
    create_time: datetime

    @staticmethod
    def new(
        product_id: str, kind: MovementKind, delta: int, after: int, order_id: str, reason: str, caller: Caller, now: datetime
    ) -> StockMovement:
        """A ledger entry not yet stored (no id)."""
        return StockMovement("", product_id, kind, delta, after, order_id, reason, caller.actor, caller.request_id, now)


class ShipmentState(enum.IntEnum):
    # Values equal the proto enum's.
    SHIPPED = 1
    DELIVERED = 2


@dataclass(frozen=True)
class Shipment:
    """Units of an order handed to a carrier together; items maps product id → units."""

    id: str
    order_id: str
    items: dict[str, int]
    carrier: str
    tracking_number: str
    state: ShipmentState
    create_time: datetime
    deliver_time: datetime | None = None


class ReturnDisposition(enum.IntEnum):
    # Values equal the proto enum's.
    RESTOCK = 1  # back on hand: a RETURN ledger row
    SCRAP = 2  # unusable: recorded on the return only


@dataclass(frozen=True)
class ReturnLine:
    product_id: str
    quantity: int
    disposition: ReturnDisposition


@dataclass(frozen=True)
class Return:
    """Shipped units of an order taken back together, one line per product, in the order asked."""

    id: str
    order_id: str
    items: tuple[ReturnLine, ...]
    reason: str
    actor: str
    request_id: str
    create_time: datetime


@dataclass(frozen=True)
class OrderAmendment:
    """An AmendOrder that took effect, or a keyed one that changed nothing: the row its idempotency key is stored on."""

    id: str
    order_id: str
    reason: str
    actor: str
    request_id: str
    create_time: datetime


@dataclass(frozen=True)
class StatusChange:
    id: str
    order_id: str
    from_status: OrderStatus | None
    to_status: OrderStatus
    actor: str
    reason: str
    request_id: str
    create_time: datetime

    @classmethod
    def in_place(cls, order: Order, caller: Caller, what: str, reason: str, now: datetime) -> StatusChange:
        """The history row of a change that keeps the order's status (a return, an amendment): `what`,
        then the caller's reason, cut to the reason column's width."""
        text = f"{what}: {reason}" if reason else what
        return cls("", order.id, order.status, order.status, caller.actor, text[:REASON_MAX_CHARS], caller.request_id, now)


# The width of every reason column (history, ledger, amendments, returns).
REASON_MAX_CHARS = 500


def update_cursor(order: Order) -> str:
    """An order's keyset position in last-change order: (update_time, id), as text."""
    since = order.update_time - datetime(1970, 1, 1, tzinfo=UTC)
    return f"{since // timedelta(microseconds=1)}-{order.id}"


def parse_update_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The (update_time, id) of a cursor update_cursor made, or None for any other text."""
    micros, _, order_id = cursor.partition("-")
    if not (micros.isascii() and micros.isdigit() and order_id.isascii() and order_id.isdigit()):
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros)), int(order_id)
    except OverflowError:
        return None


@dataclass(frozen=True)
class Page:
    """One page of a keyset listing: `after` is the last key seen, None on the first page."""

    size: int
    after: str | None = None


@dataclass
class PageResult(Generic[T]):
    items: list[T] = field(default_factory=list)
    # The key to continue after, or None when this was the last page.
    next_after: str | None = None
