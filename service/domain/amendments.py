"""Amending an open order's lines (AmendOrder): pure, like rules; the use case locks and writes.

Each entry sets a line's new quantity. 0 removes the line; a product not on the order adds a line
at today's price; a line keeps its price snapshot. The order's status must be PENDING or CONFIRMED,
where nothing has shipped or been canceled yet (a shipment moves the order on, a cancel ends it);
all the same, a line never goes below its shipped and canceled units. Increases are judged by the
rules CreateOrder's are (orderable, then every shortage at once), against the locked products.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from service.domain import rules
from service.domain.errors import (
    AmendmentEmptiesOrder,
    AmendmentTooManyLines,
    BelowFulfilled,
    Fulfilled,
    NotAmendable,
    NotFound,
    Shortage,
)
from service.domain.model import Order, OrderLine, OrderStatus, Product

AMENDABLE = frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED})
# The most lines an order has: what CreateOrder's contract takes (CreateOrderRequest.items, max_items).
MAX_LINES = 100


@dataclass(frozen=True)
class Amendment:
    order: Order  # with the new lines (its version and update time are the caller's to move)
    added: list[str]  # products of new lines
    removed: list[str]  # products whose lines go
    shortages: list[Shortage]  # increases the stock cannot cover, one per product


def changes(order: Order, entries: Sequence[OrderLine]) -> dict[str, int]:
    """product id → the change of its line's units, for every line that changes (which products to
    lock). Raises if the order cannot be amended, a line would fall below what it has shipped or
    canceled, or no line or more than MAX_LINES would be left."""
    if order.status not in AMENDABLE:
        raise NotAmendable(order.id, order.status.name)
    fulfilled = {item.product_id: item.shipped_quantity + item.canceled_quantity for item in order.items}
    below = [
        Fulfilled(e.product_id, e.quantity, fulfilled[e.product_id], i)
        for i, e in enumerate(entries)
        if e.quantity < fulfilled.get(e.product_id, 0)
    ]
    if below:
        raise BelowFulfilled(order.id, below)
    before = {item.product_id: item.quantity for item in order.items}
    after = before | {e.product_id: e.quantity for e in entries}
    if not any(after.values()):
        raise AmendmentEmptiesOrder(order.id)
    lines = sum(1 for q in after.values() if q)
    if lines > MAX_LINES:
        raise AmendmentTooManyLines(order.id, lines, MAX_LINES)
    return {pid: q - before.get(pid, 0) for pid, q in after.items() if q != before.get(pid, 0)}


def judged(order: Order, moves: Mapping[str, int], products: Mapping[str, Product]) -> Amendment:
    """The order with `moves` (from `changes`) applied, against its products locked: an unknown
    product is NotFound, an unorderable one raises as in CreateOrder, short ones are listed."""
    missing = [pid for pid in moves if pid not in products]
    if missing:
        raise NotFound("product", *missing)
    increases = [OrderLine(pid, delta) for pid, delta in moves.items() if delta > 0]
    rules.ensure_orderable(increases, products)
    on_order = {item.product_id for item in order.items}
    added = [pid for pid in moves if pid not in on_order]
    kept = [replace(item, quantity=item.quantity + moves.get(item.product_id, 0)) for item in order.items]
    items = [item for item in kept if item.quantity] + rules.priced([OrderLine(pid, moves[pid]) for pid in added], products)
    removed = [item.product_id for item in kept if not item.quantity]
    return Amendment(replace(order, items=items), added, removed, rules.shortages(increases, products))
