"""Domain events: what the outbox records in the transaction of the change, and how they are numbered.

Each aggregate numbers its own events 1, 2, 3 … without an extra query, because its changes are
already serialized by a row lock:
- an order's events are its status history: created, then one per move or cancel, each under the
  order row's lock. Every transition moves one step along a path without loops, so the number of
  changes an order has had follows from its status alone (`order_sequence`).
- a product's stock events are its ledger rows, counted in `products.stock_sequence` and written in
  the same UPDATE as the stock, under the product row's FOR UPDATE lock.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from service.domain.model import Caller, Order, OrderStatus, Product, StockMovement
from service.domain.rules import NEXT


class OrderEventType(enum.IntEnum):
    # Values equal the proto enum's.
    CREATED = 1
    STATUS_CHANGED = 2
    CANCELED = 3


def event_id(aggregate_type: str, aggregate_id: str | int, sequence: int) -> str:
    """The same for every delivery of one event: the broker deduplicates on it."""
    return f"{aggregate_type}-{aggregate_id}-{sequence}"


@dataclass(frozen=True)
class OrderEvent:
    order: Order  # as it is right after the change
    type: OrderEventType
    sequence: int
    actor: str
    request_id: str
    time: datetime

    @property
    def id(self) -> str:
        return event_id("order", self.order.id, self.sequence)


@dataclass(frozen=True)
class StockEvent:
    movement: StockMovement
    sequence: int

    @property
    def id(self) -> str:
        return event_id("product", self.movement.product_id, self.sequence)


Event = OrderEvent | StockEvent

def history_lengths(nexts: Mapping[OrderStatus, frozenset[OrderStatus]]) -> dict[OrderStatus, int]:
    """For each non-final status, how many status changes (creation included) led to it.

    Walks the transition table, so a new transition that makes a status reachable by paths of two
    lengths fails loudly at import (orders would then need a version column instead).
    """
    lengths = {OrderStatus.PENDING: 1}
    frontier = [OrderStatus.PENDING]
    while frontier:
        status = frontier.pop()
        for target in nexts[status]:
            if not nexts[target]:
                continue  # final: no event ever follows, so its own count does not matter
            if lengths.setdefault(target, lengths[status] + 1) != lengths[status] + 1:
                raise AssertionError(f"{target.name} is reachable by paths of different lengths")
            frontier.append(target)
    return lengths


_HISTORY_LENGTH = history_lengths(NEXT)


def order_created(order: Order, caller: Caller, now: datetime) -> OrderEvent:
    return OrderEvent(order, OrderEventType.CREATED, 1, caller.actor, caller.request_id, now)


def order_changed(before: OrderStatus, after: Order, caller: Caller, now: datetime) -> OrderEvent:
    """The event of a move or a cancel from status `before`: numbered after the changes that led there."""
    kind = OrderEventType.CANCELED if after.status == OrderStatus.CANCELED else OrderEventType.STATUS_CHANGED
    return OrderEvent(after, kind, _HISTORY_LENGTH[before] + 1, caller.actor, caller.request_id, now)


def stock_events(movements: Sequence[StockMovement], products: Mapping[str, Product]) -> tuple[list[StockEvent], dict[str, int]]:
    """The movements' events, numbered after each locked product's last one, and each product's new last sequence."""
    last = {pid: p.stock_sequence for pid, p in products.items()}
    events = []
    for m in movements:
        last[m.product_id] += 1
        events.append(StockEvent(m, last[m.product_id]))
    return events, {m.product_id: last[m.product_id] for m in movements}
