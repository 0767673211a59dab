"""The chaos checker flags each kind of broken history or database, and passes a sound one."""

from __future__ import annotations

from dataclasses import replace

from chaos.checker import check
from chaos.dbstate import DbState, Movement, OrderState
from chaos.history import FAIL, INFO, OK, Attempt, Operation
from service.domain.model import MovementKind as K
from service.domain.model import OrderStatus as S


def _op(f: str, type_: str, key: str, request: dict, response: dict | None = None, code: str = "") -> Operation:  # type: ignore[type-arg]
    attempt = Attempt(type_, code)
    return Operation(1, f, key, request, type_, 0.0, 1.0, response or {}, (attempt,))


def _sound() -> tuple[list[Operation], DbState]:
    """Product 1 starts at 5: order 10 takes 2 and is canceled, order 11 takes 1, an adjustment adds 3."""
    ops = [
        _op("create", OK, "k1", {"customer_id": "1", "items": [["1", 2]]}, {"order_id": "10"}),
        _op("create", OK, "k2", {"customer_id": "1", "items": [["1", 1]]}, {"order_id": "11"}),
        _op("create", OK, "k2", {"customer_id": "1", "items": [["1", 1]]}, {"order_id": "11"}),  # a replay
        _op("create", FAIL, "k3", {"customer_id": "1", "items": [["1", 99]]}, code="FAILED_PRECONDITION"),
        _op("create", INFO, "k4", {"customer_id": "1", "items": [["1", 1]]}, code="UNAVAILABLE"),
        _op("cancel", OK, "k5", {"order_id": "10"}),
        _op("status", OK, "k6", {"order_id": "11", "status": S.CONFIRMED}),
        _op("adjust", OK, "k7", {"product_id": "1", "delta": 3}),
    ]
    db = DbState(
        stock={"1": 7},
        movements=[
            Movement("1", K.INITIAL, 5, 5),
            Movement("1", K.ORDER, -2, 3, "10"),
            Movement("1", K.ORDER, -1, 2, "11"),
            Movement("1", K.CANCEL, 2, 4, "10"),
            Movement("1", K.ADJUSTMENT, 3, 7, key="k7"),
        ],
        orders={
            "10": OrderState(S.CANCELED, "k1", {"1": 2}, [(None, S.PENDING), (S.PENDING, S.CANCELED)]),
            "11": OrderState(S.CONFIRMED, "k2", {"1": 1}, [(None, S.PENDING), (S.PENDING, S.CONFIRMED)]),
        },
    )
    return ops, db


def _violated(ops: list[Operation], db: DbState) -> dict[str, list[str]]:
    return {v.name: v.violations for v in check(ops, db) if not v.ok}


def test_a_sound_history_and_database_pass_every_invariant() -> None:
    verdicts = check(*_sound())
    assert [v.violations for v in verdicts] == [[]] * len(verdicts)
    assert all(v.checked > 0 for v in verdicts)


def test_a_lost_acknowledged_order_is_flagged() -> None:
    ops, db = _sound()
    orders = dict(db.orders)
    del orders["11"]
    movements = [m for m in db.movements if m.order_id != "11"]
    broken = _violated(ops, replace(db, orders=orders, movements=movements, stock={"1": 8}))
    assert any("acknowledged order 11 is missing" in v for v in broken["acknowledged create or adjustment exists exactly once"])


def test_a_second_order_for_one_key_is_flagged() -> None:
    ops, db = _sound()
    orders = db.orders | {"12": OrderState(S.PENDING, "k2", {}, [(None, S.PENDING)])}
    broken = _violated(ops, replace(db, orders=orders))
    assert "key k2: orders ['11', '12']" in broken["a key maps to at most one order, all acks agree"]
    assert "key k2: 2 orders" in broken["acknowledged create or adjustment exists exactly once"]


def test_acknowledgements_of_one_key_naming_different_orders_are_flagged() -> None:
    ops, db = _sound()
    ops.append(_op("create", OK, "k2", {"customer_id": "1", "items": [["1", 1]]}, {"order_id": "10"}))
    assert "key k2: acknowledgements name orders ['10', '11']" in _violated(ops, db)["a key maps to at most one order, all acks agree"]


def test_an_order_behind_a_definite_refusal_is_flagged() -> None:
    ops, db = _sound()
    orders = db.orders | {"13": replace(db.orders["11"], key="k3")}
    assert any("k3: refused with FAILED_PRECONDITION" in v for v in _violated(ops, replace(db, orders=orders))["a definite refusal created nothing"])


def test_a_negative_stock_is_flagged() -> None:
    ops, db = _sound()
    movements = db.movements + [Movement("1", K.ADJUSTMENT, -8, -1, key="k8")]
    broken = _violated(ops, replace(db, stock={"1": -1}, movements=movements))
    assert "product 1: stock -1 is negative" in broken["stock conserved, never negative, ledger sums to it"]
    assert "product 1: a ledger row left stock at -1" in broken["stock conserved, never negative, ledger sums to it"]


def test_stock_that_drifts_from_its_ledger_is_flagged() -> None:
    ops, db = _sound()
    broken = _violated(ops, replace(db, stock={"1": 6}))
    assert "product 1: ledger sums to 7 != stock 6" in broken["stock conserved, never negative, ledger sums to it"]


def test_a_double_restore_is_flagged() -> None:
    ops, db = _sound()
    movements = db.movements + [Movement("1", K.CANCEL, 2, 9, "10")]
    broken = _violated(ops, replace(db, movements=movements, stock={"1": 9}))
    assert any("order 10 (CANCELED): restore rows {'1': 2}" in v for v in broken["status history is a valid path, each cancel restored stock once"])


def test_an_illegal_transition_is_flagged() -> None:
    ops, db = _sound()
    shipped = replace(db.orders["11"], status=S.SHIPPED, path=[(None, S.PENDING), (S.PENDING, S.SHIPPED)])
    broken = _violated(ops, replace(db, orders=db.orders | {"11": shipped}))
    assert "order 11: illegal move PENDING -> SHIPPED" in broken["status history is a valid path, each cancel restored stock once"]


def test_an_acknowledged_adjustment_missing_from_the_ledger_is_flagged() -> None:
    ops, db = _sound()
    movements = [m for m in db.movements if m.key != "k7"]
    broken = _violated(ops, replace(db, movements=movements, stock={"1": 4}))
    assert "key k7: acknowledged adjustment is in the ledger 0 times" in broken["acknowledged create or adjustment exists exactly once"]


def test_an_acknowledged_order_read_as_not_found_is_flagged() -> None:
    ops, db = _sound()
    ops.append(_op("read", FAIL, "", {"order_id": "11"}, code="NOT_FOUND"))
    assert "order 11: acknowledged, then read as NOT_FOUND" in _violated(ops, db)["acknowledged create or adjustment exists exactly once"]
