"""Business rules as pure functions over domain values. They decide; they never do I/O."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from service.domain.errors import (
    ExceedsOpenQuantity,
    FieldViolation,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidArgument,
    InvalidStatusTransition,
    NotDeleted,
    NotFound,
    NotOrderable,
    OverShipped,
    Shortage,
    StockBelowReserved,
)
from service.domain.model import Customer, IdempotencyKey, Order, OrderItem, OrderLine, OrderStatus, Product

E = TypeVar("E", Customer, Product)

# The only moves an order can make. CANCELED is reached through canceled(), which also releases
# the reservation; SHIPPED through shipped(), which takes the units out of stock.
NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PICKED, OrderStatus.CANCELED}),
    OrderStatus.PICKED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
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
    for line in lines:
        product = products[line.product_id]
        if product.delete_time is not None:
            raise NotOrderable("product", product.id, "deleted")
        if not product.active:
            raise NotOrderable("product", product.id, "inactive")
    shortages = [
        Shortage(line.product_id, line.quantity, products[line.product_id].stock_quantity)
        for line in lines
        if products[line.product_id].stock_quantity < line.quantity
    ]
    if shortages:
        raise InsufficientStock(shortages)
    return [
        OrderItem(line.product_id, products[line.product_id].sku, line.quantity, products[line.product_id].price)
        for line in lines
    ]


def ensure_transition(order_id: str, current: OrderStatus, target: OrderStatus) -> bool:
    """True if the order must move; False if it is already there (a no-op). Raises if not allowed.

    CANCELED is never a plain transition: only cancel() reaches it, because it also returns stock.
    """
    if current == target:
        return False
    if target == OrderStatus.CANCELED or target not in NEXT[current]:
        raise InvalidStatusTransition(order_id, current.name, target.name)
    return True


def ensure_cancelable(order_id: str, current: OrderStatus) -> None:
    # Unlike other transitions, a repeated cancel is an error: it must never return stock twice,
    # and the client should learn that nothing happened.
    if OrderStatus.CANCELED not in NEXT[current]:
        raise InvalidStatusTransition(order_id, current.name, OrderStatus.CANCELED.name)


def canceled(order: Order, now: datetime) -> Order:
    """The order with every open unit canceled: CANCELED if nothing had shipped, else SHIPPED.

    A cancel with nothing open is an error, not a no-op: it must never release a reservation twice,
    and the client should learn that nothing happened.
    """
    ensure_cancelable(order.id, order.status)
    items = [replace(i, canceled_quantity=i.canceled_quantity + i.open_quantity) for i in order.items]
    status = OrderStatus.SHIPPED if any(i.shipped_quantity for i in items) else OrderStatus.CANCELED
    return replace(order, items=items, status=status, update_time=now, version=order.version + 1)


def shipped(order: Order, units: Mapping[str, int], now: datetime) -> Order:
    """The order after shipping `units` (product id → units, each above zero): each at most its
    line's open quantity. The caller has checked that the order's status allows a shipment."""
    open_units = {item.product_id: item.open_quantity for item in order.items}
    over = [
        OverShipped(pid, quantity, open_units.get(pid), i)
        for i, (pid, quantity) in enumerate(units.items())
        if quantity > open_units.get(pid, 0)
    ]
    if over:
        raise ExceedsOpenQuantity(order.id, over)
    items = [replace(i, shipped_quantity=i.shipped_quantity + units.get(i.product_id, 0)) for i in order.items]
    return replace(order, items=items, status=OrderStatus.SHIPPED, update_time=now, version=order.version + 1)


def adjusted_on_hand(product: Product, delta: int) -> int:
    """On hand after an adjustment. Never below zero (INSUFFICIENT_STOCK, as before reservations
    existed), nor below what open orders reserve (STOCK_BELOW_RESERVED)."""
    on_hand = product.on_hand_quantity + delta
    if on_hand < 0:
        raise InsufficientStock([Shortage(product.id, -delta, product.on_hand_quantity)])
    if on_hand < product.reserved_quantity:
        raise StockBelowReserved(product.id, on_hand, product.reserved_quantity)
    return on_hand


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
CUSTOMER_UPDATABLE: dict[str, bool] = {"name": True, "email": True, "phone": False, "address": False, "active": False}
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
