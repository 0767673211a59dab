"""A product's stock figures and the ledger rows that move them: on hand, reserved, available.

available = on hand − reserved, and products.stock_quantity stores it (so CHECK stock_quantity ≥ 0
is on hand ≥ reserved). What each ledger kind's delta changes is defined once, here: the handlers
and the chaos checker replay rows with `after_movement`, storage/invariants.py sums ON_HAND_KINDS.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from service.domain.events import StockEvent
from service.domain.model import Caller, MovementKind, Product, Stock, StockMovement


# The kinds whose delta is a change of units on hand; ORDER and CANCEL change only the reservation.
RESERVATION_KINDS = frozenset({MovementKind.ORDER, MovementKind.CANCEL})
ON_HAND_KINDS = frozenset(MovementKind) - RESERVATION_KINDS


def after_movement(kind: MovementKind, delta: int, on_hand: int, reserved: int) -> tuple[int, int]:
    """(on hand, reserved) after a ledger row.

    ORDER and CANCEL rows move units between available and reserved (delta is the change of
    available); SHIPMENT rows take units out of on hand and out of the reservation alike; INITIAL,
    ADJUSTMENT, COUNT and RETURN (restocked units of a customer return) rows change on hand.
    """
    if kind in RESERVATION_KINDS:
        return on_hand, reserved - delta
    if kind == MovementKind.SHIPMENT:
        return on_hand + delta, reserved + delta
    return on_hand + delta, reserved


class StockBook:
    """The locked products' figures, moved row by row: each row gets its stock_after and its event,
    numbered after the product's last one."""

    def __init__(self, products: Mapping[str, Product]) -> None:
        self._figures = {pid: (p.on_hand_quantity, p.reserved_quantity) for pid, p in products.items()}
        self._sequence = {pid: p.stock_sequence for pid, p in products.items()}
        self._touched: dict[str, None] = {}
        self.movements: list[StockMovement] = []
        self.events: list[StockEvent] = []

    def move(
        self, product_id: str, kind: MovementKind, delta: int, order_id: str, reason: str, caller: Caller, now: datetime
    ) -> StockMovement:
        on_hand, reserved = after_movement(kind, delta, *self._figures[product_id])
        self._figures[product_id] = (on_hand, reserved)
        self._sequence[product_id] += 1
        self._touched[product_id] = None
        movement = StockMovement.new(product_id, kind, delta, on_hand - reserved, order_id, reason, caller, now)
        self.movements.append(movement)
        self.events.append(StockEvent(movement, self._sequence[product_id], on_hand, reserved))
        return movement

    def stock(self) -> dict[str, Stock]:
        """The new figures of every product moved, sorted."""
        return {pid: Stock(self._figures[pid][0] - self._figures[pid][1], self._figures[pid][1]) for pid in sorted(self._touched)}

    def sequences(self) -> dict[str, int]:
        return {pid: self._sequence[pid] for pid in self._touched}
