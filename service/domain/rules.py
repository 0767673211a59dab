"""Business rules as pure functions over domain values. They decide; they never do I/O."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from service.domain.errors import (
    DuplicateProduct,
    EtagMismatch,
    ExceedsOpenQuantity,
    ExceedsShippedQuantity,
    FieldViolation,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidArgument,
    InvalidStatusTransition,
    NotDeleted,
    NotFound,
    NotOrderable,
    OverLine,
    Shortage,
    StockBelowReserved,
    StockMoved,
)
from service.domain.model import (
    Customer,
    IdempotencyKey,
    Order,
    OrderItem,
    OrderLine,
    OrderStatus,
    Product,
    ReturnLine,
    Shipment,
    ShipmentState,
)

E = TypeVar("E", Customer, Product)

S = OrderStatus
# The moves UpdateOrderStatus makes: one step forward. SHIPPED ships whatever is open.
STEPS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.CONFIRMED}),
    S.CONFIRMED: frozenset({S.PICKED}),
    S.PICKED: frozenset({S.SHIPPED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELED: frozenset(),
}
# Statuses with open units: a shipment may take some, a cancel cancels them all.
SHIPPABLE = frozenset({S.CONFIRMED, S.PICKED, S.PARTIALLY_SHIPPED})
# Statuses in which an order can hold shipped units, so a return can take some back (a cancel after
# a partial shipment leaves the order SHIPPED, so a CANCELED order never shipped anything). Returns
# check the lines' shipped units, not this set: the fault harness judges history rows by it.
RETURNABLE = frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED})
CANCELABLE = frozenset({S.PENDING, S.CONFIRMED, S.PICKED, S.PARTIALLY_SHIPPED})
# Statuses in which no line has open units: each was shipped or canceled (the invariants check it).
CLOSED = frozenset({S.SHIPPED, S.DELIVERED, S.CANCELED})
# Every move an order can make, whatever makes it: the steps, shipments (CONFIRMED or PICKED to
# PARTIALLY_SHIPPED or SHIPPED), cancels (to CANCELED if nothing shipped, else to SHIPPED, or
# DELIVERED when every shipment already was) and the last delivery (SHIPPED to DELIVERED).
NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    **STEPS,
    S.PENDING: STEPS[S.PENDING] | {S.CANCELED},
    S.CONFIRMED: STEPS[S.CONFIRMED] | {S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELED},
    S.PICKED: STEPS[S.PICKED] | {S.PARTIALLY_SHIPPED, S.CANCELED},
    S.PARTIALLY_SHIPPED: STEPS[S.PARTIALLY_SHIPPED] | {S.DELIVERED},
}


def merge_lines(lines: Iterable[OrderLine]) -> list[OrderLine]:
    """Merges lines naming the same product, keeping first-seen order."""
    merged: OrderedDict[str, int] = OrderedDict()
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    return [OrderLine(pid, qty) for pid, qty in merged.items()]


def ensure_customer_can_order(customer: Customer) -> None:
    if customer.delete_time is not None:
        raise NotOrderable("customer", customer.id, "deleted")
    if not customer.active:
        raise NotOrderable("customer", customer.id, "inactive")


def price_lines(lines: list[OrderLine], products: Mapping[str, Product]) -> list[OrderItem]:
    """Checks every line against its locked product and snapshots the price.

    Unorderable products fail first; then every short line is reported at once, so the client
    can fix the whole basket in one round trip.
    """
    ensure_orderable(lines, products)
    if short := shortages(lines, products):
        raise InsufficientStock(short)
    return priced(lines, products)


def ensure_orderable(lines: Iterable[OrderLine], products: Mapping[str, Product]) -> None:
    """Units can be reserved only of a product that is neither deleted nor inactive."""
    for line in lines:
        product = products[line.product_id]
        if product.delete_time is not None:
            raise NotOrderable("product", product.id, "deleted")
        if not product.active:
            raise NotOrderable("product", product.id, "inactive")


def shortages(lines: Iterable[OrderLine], products: Mapping[str, Product]) -> list[Shortage]:
    """The lines that want more units than their locked product has available, one each."""
    return [
        Shortage(line.product_id, line.quantity, products[line.product_id].stock_quantity)
        for line in lines
        if products[line.product_id].stock_quantity < line.quantity
    ]


def priced(lines: Iterable[OrderLine], products: Mapping[str, Product]) -> list[OrderItem]:
    """New order items at the products' prices of today."""
    return [
        OrderItem(line.product_id, products[line.product_id].sku, line.quantity, products[line.product_id].price)
        for line in lines
    ]


def ensure_transition(order_id: str, current: OrderStatus, target: OrderStatus) -> bool:
    """UpdateOrderStatus: True if the order must move; False if it is already there (a no-op).
    Raises if it is not one step forward (STEPS).

    CANCELED is never a step: only canceled() reaches it, because it also releases the reservation.
    """
    if current == target:
        return False
    if target not in STEPS[current]:
        raise InvalidStatusTransition(order_id, current.name, target.name)
    return True


def ensure_cancelable(order_id: str, current: OrderStatus) -> None:
    # Unlike other transitions, a repeated cancel is an error: it must never release a reservation
    # twice, and the client should learn that nothing happened.
    if current not in CANCELABLE:
        raise InvalidStatusTransition(order_id, current.name, OrderStatus.CANCELED.name)


def ensure_shippable(order_id: str, current: OrderStatus) -> None:
    if current not in SHIPPABLE:
        raise InvalidStatusTransition(order_id, current.name, OrderStatus.SHIPPED.name)


def ensure_etag(order: Order, etag: str) -> None:
    """AIP-154: a mutation that names the etag it read applies only to the order as it was then."""
    if etag and etag != order.etag:
        raise EtagMismatch("order", order.id, etag, order.etag)


def canceled(order: Order, shipments: Sequence[Shipment], now: datetime) -> Order:
    """The order with every open unit canceled: CANCELED if nothing had shipped, else SHIPPED, or
    DELIVERED if every shipment already was.

    A cancel with nothing open is an error, not a no-op: it must never release a reservation twice,
    and the client should learn that nothing happened.
    """
    ensure_cancelable(order.id, order.status)
    items = [replace(i, canceled_quantity=i.canceled_quantity + i.open_quantity) for i in order.items]
    if not shipments:
        status = OrderStatus.CANCELED
    else:
        status = OrderStatus.DELIVERED if all_delivered(shipments) else OrderStatus.SHIPPED
    return replace(order, items=items, status=status, update_time=now, version=order.version + 1)


def all_delivered(shipments: Sequence[Shipment]) -> bool:
    return all(s.state == ShipmentState.DELIVERED for s in shipments)


def delivered(order: Order, shipments: Sequence[Shipment], now: datetime) -> Order:
    """The order after one of its shipments was delivered (`shipments`, all of them, as they are now):
    DELIVERED once nothing is open and every shipment is delivered."""
    status = OrderStatus.DELIVERED if order.open_quantity == 0 and all_delivered(shipments) else order.status
    return replace(order, status=status, update_time=now, version=order.version + 1)


def shipped(order: Order, units: Mapping[str, int], now: datetime) -> Order:
    """The order after shipping `units` (product id → units, each above zero): each at most its
    line's open quantity. The caller has checked that the order's status allows a shipment."""
    open_units = {item.product_id: item.open_quantity for item in order.items}
    over = [
        OverLine(pid, quantity, open_units.get(pid), i)
        for i, (pid, quantity) in enumerate(units.items())
        if quantity > open_units.get(pid, 0)
    ]
    if over:
        raise ExceedsOpenQuantity(order.id, over)
    items = [replace(i, shipped_quantity=i.shipped_quantity + units.get(i.product_id, 0)) for i in order.items]
    status = OrderStatus.SHIPPED if sum(i.open_quantity for i in items) == 0 else OrderStatus.PARTIALLY_SHIPPED
    return replace(order, items=items, status=status, update_time=now, version=order.version + 1)


def ensure_one_entry_per_product(product_ids: Sequence[str]) -> None:
    """A return or an amendment names each product once: a second entry is refused, not merged (a
    return's disposition could differ from the first's; an amendment sets a quantity, not adds one)."""
    seen: set[str] = set()
    again = []
    for i, product_id in enumerate(product_ids):
        if product_id in seen:
            again.append((i, product_id))
        seen.add(product_id)
    if again:
        raise DuplicateProduct(again)


def returned(order: Order, lines: Sequence[ReturnLine], now: datetime) -> Order:
    """The order after taking `lines` back (one per product, each above zero): each at most what its
    line shipped and has not returned yet, whatever the order's status. The status does not move."""
    lines_by_product = {item.product_id: item for item in order.items}
    over = [
        OverLine(line.product_id, line.quantity, None if item is None else item.shipped_quantity - item.returned_quantity, i)
        for i, line in enumerate(lines)
        if (item := lines_by_product.get(line.product_id)) is None or item.returned_quantity + line.quantity > item.shipped_quantity
    ]
    if over:
        raise ExceedsShippedQuantity(order.id, over)
    units = {line.product_id: line.quantity for line in lines}
    items = [replace(i, returned_quantity=i.returned_quantity + units.get(i.product_id, 0)) for i in order.items]
    return replace(order, items=items, update_time=now, version=order.version + 1)


def adjusted_on_hand(product: Product, delta: int) -> int:
    """On hand after an adjustment. Never below zero (INSUFFICIENT_STOCK, as before reservations
    existed), nor below what open orders reserve (STOCK_BELOW_RESERVED)."""
    on_hand = product.on_hand_quantity + delta
    if on_hand < 0:
        raise InsufficientStock([Shortage(product.id, -delta, product.on_hand_quantity)])
    if on_hand < product.reserved_quantity:
        raise StockBelowReserved(product.id, on_hand, product.reserved_quantity)
    return on_hand


def ensure_count_applies(product: Product, expected_on_hand: int) -> None:
    """A count is taken against an on-hand figure: if stock moved since, it no longer applies."""
    if product.on_hand_quantity != expected_on_hand:
        raise StockMoved(product.id, expected_on_hand, product.on_hand_quantity)


def ensure_same_request(stored_fingerprint: str, key: IdempotencyKey) -> None:
    """A key found on a stored row may only replay the request that wrote it."""
    if stored_fingerprint != key.fingerprint:
        raise IdempotencyKeyReused()


def ensure_currency(field: str, currency: str, service_currency: str) -> None:
    if currency not in ("", service_currency):
        raise InvalidArgument(
            [FieldViolation(field, f"only {service_currency} is accepted", "UNSUPPORTED_CURRENCY")],
        )


# Fields an update may name, and whether each must stay non-empty.
CUSTOMER_UPDATABLE: dict[str, bool] = {
    "name": True, "email": True, "phone": False, "address": False, "postal_address": False, "active": False,
}
PRODUCT_UPDATABLE: dict[str, bool] = {"name": True, "description": False, "price": False, "active": False}


def email(address: str) -> str:
    """Emails are unique case-insensitively on every engine, so they are stored lower-cased."""
    return address.strip().lower()


def ensure_updatable(resource: str, changes: Mapping[str, object], updatable: Mapping[str, bool]) -> None:
    bad = [
        FieldViolation("update_mask", f"{name!r} cannot be updated", "FIELD_NOT_UPDATABLE")
        for name in changes
        if name not in updatable
    ]
    bad += [
        FieldViolation(f"{resource}.{name}", "must not be empty", "REQUIRED")
        for name, value in changes.items()
        if updatable.get(name) and value in ("", None)
    ]
    if bad:
        raise InvalidArgument(bad)


def soft_deleted(entity: E, resource: str, now: datetime) -> E:
    """AIP-164: deleting an already-deleted resource is NOT_FOUND."""
    if entity.delete_time is not None:
        raise NotFound(resource, entity.id)
    return replace(entity, delete_time=now, update_time=now)


def undeleted(entity: E, resource: str, now: datetime) -> E:
    if entity.delete_time is None:
        raise NotDeleted(resource, entity.id)
    return replace(entity, delete_time=None, update_time=now)
