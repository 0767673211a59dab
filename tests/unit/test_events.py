"""How events are numbered: an order's sequence is its version, a product's follows its ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from service._gen.erp.orders.v1 import events_pb2, order_pb2
from service.domain import events
from service.domain.model import Caller, Order, OrderStatus, Return, ReturnDisposition, ReturnLine
from service.grpc import convert

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CALLER = Caller("a", "r")


def test_a_change_is_numbered_with_the_order_s_version_after_it() -> None:
    order = Order("7", "1", OrderStatus.CANCELED, [], "BRL", "", NOW, NOW, version=3)
    event = events.order_changed(order, CALLER, NOW)
    assert (event.type, event.sequence, event.id) == (events.OrderEventType.CANCELED, 3, "order-7-3")


def test_a_return_is_numbered_like_any_change_and_carries_the_return_in_its_payload() -> None:
    order = Order("7", "1", OrderStatus.SHIPPED, [], "BRL", "", NOW, NOW, version=5)
    taken = Return("9", "7", (ReturnLine("3", 2, ReturnDisposition.SCRAP),), "broken", "a", "r", NOW)
    event = events.return_created(order, taken, CALLER, NOW)
    assert (event.type, event.sequence, event.order_return) == (events.OrderEventType.RETURN_CREATED, 5, taken)
    message = events_pb2.OrderEvent.FromString(convert.event_payload(event))
    assert (message.type, message.order.status, message.HasField("shipment")) == (events_pb2.ORDER_EVENT_TYPE_RETURN_CREATED, OrderStatus.SHIPPED, False)
    assert [(i.product_id, i.quantity, i.disposition) for i in message.order_return.items] == [("3", 2, order_pb2.RETURN_DISPOSITION_SCRAP)]
