"""Domain events: what the outbox records in the transaction of the change, and how they are numbered.

Each aggregate numbers its own events 1, 2, 3 … without an extra query, because its changes are
already serialized by a row lock:
- an order's events are its changes: created, then one per move, cancel, shipment, return or amendment, each under the
  order row's lock. The order's `version` (orders.version) counts them and is written with the change,
  so the event of a change is numbered with the order's new version.
- a product's stock events are its ledger rows, counted in `products.stock_sequence` and written in
  the same UPDATE as the stock, under the product row's FOR UPDATE lock (service/domain/stock.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from service.domain.model import Caller, Order, OrderStatus, Return, Shipment, StockMovement


class OrderEventType(enum.IntEnum):
    # Values equal the proto enum's.
    CREATED = 1
    STATUS_CHANGED = 2
    CANCELED = 3
    SHIPMENT_CREATED = 4
    SHIPMENT_DELIVERED = 5
    RETURN_CREATED = 6
    AMENDED = 7


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
    shipment: Shipment | None = None  # the shipment created or delivered, if the change concerns one
    order_return: Return | None = None  # the return created, for RETURN_CREATED

    @property
    def id(self) -> str:
        return event_id("order", self.order.id, self.sequence)


@dataclass(frozen=True)
class StockEvent:
    movement: StockMovement
    sequence: int
    on_hand: int  # the product's figures right after the movement (available is movement.stock_after)
    reserved: int

    @property
    def id(self) -> str:
        return event_id("product", self.movement.product_id, self.sequence)


Event = OrderEvent | StockEvent


def order_created(order: Order, caller: Caller, now: datetime) -> OrderEvent:
    return OrderEvent(order, OrderEventType.CREATED, 1, caller.actor, caller.request_id, now)


def order_changed(after: Order, caller: Caller, now: datetime, shipment: Shipment | None = None) -> OrderEvent:
    """The event of a move or a cancel (UpdateOrderStatus to SHIPPED names the shipment it made):
    numbered with the order's version after it."""
    kind = OrderEventType.CANCELED if after.status == OrderStatus.CANCELED else OrderEventType.STATUS_CHANGED
    return OrderEvent(after, kind, after.version, caller.actor, caller.request_id, now, shipment)


def shipment_changed(kind: OrderEventType, after: Order, shipment: Shipment, caller: Caller, now: datetime) -> OrderEvent:
    """SHIPMENT_CREATED or SHIPMENT_DELIVERED: the order (its status may have moved with it) and the shipment."""
    return OrderEvent(after, kind, after.version, caller.actor, caller.request_id, now, shipment)


def return_created(after: Order, order_return: Return, caller: Caller, now: datetime) -> OrderEvent:
    """RETURN_CREATED: the order (its status unchanged, its lines' returned units up) and the return."""
    return OrderEvent(after, OrderEventType.RETURN_CREATED, after.version, caller.actor, caller.request_id, now, order_return=order_return)


def order_amended(after: Order, caller: Caller, now: datetime) -> OrderEvent:
    """AMENDED: the order with its new lines and total."""
    return OrderEvent(after, OrderEventType.AMENDED, after.version, caller.actor, caller.request_id, now)
