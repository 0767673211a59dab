"""What each ledger kind moves, and the book that numbers a transaction's rows: service/domain/stock.py."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.domain.model import Caller, MovementKind, Product, Stock
from service.domain.stock import ON_HAND_KINDS, StockBook, after_movement

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CALLER = Caller("a", "r")
K = MovementKind


@pytest.mark.parametrize(
    ("kind", "delta", "after"),
    [
        (K.INITIAL, 5, (15, 4)), (K.ADJUSTMENT, -2, (8, 4)), (K.COUNT, -3, (7, 4)), (K.RETURN, 2, (12, 4)),  # on hand only
        (K.ORDER, -2, (10, 6)), (K.CANCEL, 2, (10, 2)),  # the reservation only: available moves by delta
        (K.SHIPMENT, -3, (7, 1)),  # both: available is unchanged
    ],
)
def test_each_kind_moves_on_hand_the_reservation_or_both(kind: K, delta: int, after: tuple[int, int]) -> None:
    assert after_movement(kind, delta, 10, 4) == after
    assert (kind in ON_HAND_KINDS) == (after[0] != 10)


def test_movements_of_one_product_in_one_transaction_take_consecutive_numbers() -> None:
    product = Product("5", "S", "p", "", Decimal(1), "BRL", 9, True, NOW, NOW, stock_sequence=4)
    book = StockBook({"5": product})
    for _ in range(2):
        book.move("5", MovementKind.ORDER, -1, "", "", CALLER, NOW)
    assert [e.sequence for e in book.events] == [5, 6] and book.sequences() == {"5": 6}
    assert [(e.movement.stock_after, e.on_hand, e.reserved) for e in book.events] == [(8, 9, 1), (7, 9, 2)]
    assert book.stock() == {"5": Stock(7, 2)}
