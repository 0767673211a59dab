"""How events are numbered: an order's sequence follows from its status, a product's from its ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.domain import events
from service.domain.model import Caller, MovementKind, Order, OrderStatus, Product, StockMovement
from service.domain.rules import NEXT

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CALLER = Caller("a", "r")


def _paths(status: OrderStatus, length: int) -> list[tuple[OrderStatus, int]]:
    return [(status, length)] + [p for nxt in NEXT[status] for p in _paths(nxt, length + 1)]


def test_every_path_through_the_transitions_numbers_a_status_by_its_history_length() -> None:
    lengths = events.history_lengths(NEXT)
    for status, length in _paths(OrderStatus.PENDING, 1):
        if NEXT[status]:
            assert lengths[status] == length


def test_a_transition_table_with_two_path_lengths_to_one_status_is_refused() -> None:
    shortcut = {**NEXT, OrderStatus.PENDING: NEXT[OrderStatus.PENDING] | {OrderStatus.PICKED}}
    with pytest.raises(AssertionError, match="PICKED"):
        events.history_lengths(shortcut)


def test_a_cancel_after_confirmation_is_the_third_event() -> None:
    order = Order("7", "1", OrderStatus.CANCELED, [], "BRL", "", NOW, NOW)
    event = events.order_changed(OrderStatus.CONFIRMED, order, CALLER, NOW)
    assert (event.type, event.sequence, event.id) == (events.OrderEventType.CANCELED, 3, "order-7-3")


def test_movements_of_one_product_in_one_transaction_take_consecutive_numbers() -> None:
    product = Product("5", "S", "p", "", Decimal(1), "BRL", 9, True, NOW, NOW, stock_sequence=4)
    moves = [StockMovement.new("5", MovementKind.ORDER, -1, 9 - n, "", "", CALLER, NOW) for n in (1, 2)]
    stock, last = events.stock_events(moves, {"5": product})
    assert [e.sequence for e in stock] == [5, 6] and last == {"5": 6}
