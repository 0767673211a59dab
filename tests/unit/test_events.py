"""How events are numbered: an order's sequence is its version, a product's follows its ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from service.domain import events
from service.domain.model import Caller, Order, OrderStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CALLER = Caller("a", "r")


def test_a_change_is_numbered_with_the_order_s_version_after_it() -> None:
    order = Order("7", "1", OrderStatus.CANCELED, [], "BRL", "", NOW, NOW, version=3)
    event = events.order_changed(order, CALLER, NOW)
    assert (event.type, event.sequence, event.id) == (events.OrderEventType.CANCELED, 3, "order-7-3")
