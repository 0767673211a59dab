"""How events are numbered: an order's sequence is its version, a product's follows its ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from service.domain import events
from service.domain.model import Caller, MovementKind, Order, OrderStatus, Product, Stock
from service.domain.stock import StockBook

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CALLER = Caller("a", "r")


def test_a_change_is_numbered_with_the_order_s_version_after_it() -> None:
    order = Order("7", "1", OrderStatus.CANCELED, [], "BRL", "", NOW, NOW, version=3)
    event = events.order_changed(order, CALLER, NOW)
    assert (event.type, event.sequence, event.id) == (events.OrderEventType.CANCELED, 3, "order-7-3")


def test_movements_of_one_product_in_one_transaction_take_consecutive_numbers() -> None:
    product = Product("5", "S", "p", "", Decimal(1), "BRL", 9, True, NOW, NOW, stock_sequence=4)
    book = StockBook({"5": product})
    for _ in range(2):
        book.move("5", MovementKind.ORDER, -1, "", "", CALLER, NOW)
    assert [e.sequence for e in book.events] == [5, 6] and book.sequences() == {"5": 6}
    assert [(e.movement.stock_after, e.on_hand, e.reserved) for e in book.events] == [(8, 9, 1), (7, 9, 2)]
    assert book.stock() == {"5": Stock(7, 2)}
