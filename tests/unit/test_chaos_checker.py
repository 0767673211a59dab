"""The chaos checker flags each kind of broken history, database or event stream, and passes a sound one."""

from __future__ import annotations

from dataclasses import replace

from chaos.checker import check
from chaos.dbstate import Amended, DbState, Movement, OrderState, Returned, Shipped
from chaos.events_invariant import NAME as EVENTS
from chaos.history import FAIL, INFO, OK, Attempt, Operation
from chaos.stream import StreamEvent
from service.domain.model import MovementKind as K
from service.domain.model import OrderStatus as S


ACK = "acknowledged create, shipment, return, adjustment, count or amendment exists exactly once"
STOCK = "stock conserved: on hand ≥ reserved ≥ 0, each the ledger's and the lines' sum"
PATHS = "status history is a valid path, each cancel released its open units once"
LINES = "every line's shipped and canceled units add up"
RETURNS = "every line's returned units: at most shipped, its returns' sum, restocks in the ledger"
REFUSED = "a definite refusal created nothing"


def _op(f: str, type_: str, key: str, request: dict, response: dict | None = None, code: str = "") -> Operation:  # type: ignore[type-arg]
    attempt = Attempt(type_, code)
    return Operation(1, f, key, request, type_, 0.0, 1.0, response or {}, (attempt,))


def _sound() -> tuple[list[Operation], DbState, list[StreamEvent]]:
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
        _op("forged_watch", FAIL, "", {"resume_token": "MC4x"}, code="INVALID_ARGUMENT"),
    ]
    db = DbState(
        stock={"1": 7},
        movements=[
            Movement("1", K.INITIAL, 5, 5, id="100"),
            Movement("1", K.ORDER, -2, 3, "10", id="101"),
            Movement("1", K.ORDER, -1, 2, "11", id="102"),
            Movement("1", K.CANCEL, 2, 4, "10", id="103"),
            Movement("1", K.ADJUSTMENT, 3, 7, key="k7", id="104"),
        ],
        orders={
            "10": OrderState(S.CANCELED, "k1", {"1": 2}, [(None, S.PENDING), (S.PENDING, S.CANCELED)], canceled={"1": 2}, version=2),
            "11": OrderState(S.CONFIRMED, "k2", {"1": 1}, [(None, S.PENDING), (S.PENDING, S.CONFIRMED)], version=2),
        },
        reserved={"1": 1},
    )
    stream = [  # as the relay publishes it: each aggregate's events in sequence, aggregates interleaved
        _order_event("10", 1, 1, S.PENDING), _stock_event(1, db.movements[0]), _stock_event(2, db.movements[1]),
        _order_event("11", 1, 1, S.PENDING), _stock_event(3, db.movements[2]), _order_event("10", 2, 3, S.CANCELED),
        _stock_event(4, db.movements[3]), _order_event("11", 2, 2, S.CONFIRMED), _stock_event(5, db.movements[4]),
    ]
    return ops, db, stream


def _order_event(oid: str, seq: int, type_: int, status: int) -> StreamEvent:
    return StreamEvent(f"order-{oid}-{seq}", "order", oid, seq, type_, status)


def _stock_event(seq: int, m: Movement) -> StreamEvent:
    return StreamEvent(f"product-{m.product_id}-{seq}", "product", m.product_id, seq, movement=replace(m, key=None))


def _violated(ops: list[Operation], db: DbState, stream: list[StreamEvent] | None = None) -> dict[str, list[str]]:
    return {v.name: v.violations for v in check(ops, db, _sound()[2] if stream is None else stream) if not v.ok}


def test_a_sound_history_and_database_pass_every_invariant() -> None:
    verdicts = check(*_sound())
    assert [v.violations for v in verdicts] == [[]] * len(verdicts)
    assert all(v.checked > 0 for v in verdicts)


def test_a_lost_acknowledged_order_is_flagged() -> None:
    ops, db, _ = _sound()
    orders = dict(db.orders)
    del orders["11"]
    movements = [m for m in db.movements if m.order_id != "11"]
    broken = _violated(ops, replace(db, orders=orders, movements=movements, stock={"1": 8}))
    assert any("acknowledged order 11 is missing" in v for v in broken[ACK])


def test_a_second_order_for_one_key_is_flagged() -> None:
    ops, db, _ = _sound()
    orders = db.orders | {"12": OrderState(S.PENDING, "k2", {}, [(None, S.PENDING)])}
    broken = _violated(ops, replace(db, orders=orders))
    assert "key k2: orders ['11', '12']" in broken["a key maps to at most one order, all acks agree"]
    assert "key k2: 2 orders" in broken[ACK]


def test_acknowledgements_of_one_key_naming_different_orders_are_flagged() -> None:
    ops, db, _ = _sound()
    ops.append(_op("create", OK, "k2", {"customer_id": "1", "items": [["1", 1]]}, {"order_id": "10"}))
    assert "key k2: acknowledgements name orders ['10', '11']" in _violated(ops, db)["a key maps to at most one order, all acks agree"]


def test_an_order_behind_a_definite_refusal_is_flagged() -> None:
    ops, db, _ = _sound()
    orders = db.orders | {"13": replace(db.orders["11"], key="k3")}
    assert any("k3: refused with FAILED_PRECONDITION" in v for v in _violated(ops, replace(db, orders=orders))["a definite refusal created nothing"])


def test_a_forged_resume_token_accepted_or_breaking_the_service_is_flagged() -> None:
    ops, db, _ = _sound()
    ops += [_op("forged_watch", OK, "", {"resume_token": "accepted"}), _op("forged_watch", INFO, "", {"resume_token": "broke"}, code="INTERNAL")]
    broken = _violated(ops, db)["a forged resume token is refused as INVALID_ARGUMENT"]
    assert broken == ["forged resume token 'accepted' was accepted", "forged resume token 'broke': ['INTERNAL']"]


def test_a_negative_stock_is_flagged() -> None:
    ops, db, _ = _sound()
    movements = db.movements + [Movement("1", K.ADJUSTMENT, -8, -1, key="k8")]
    broken = _violated(ops, replace(db, stock={"1": -1}, movements=movements))
    assert "product 1: available -1 or reserved 1 is negative" in broken[STOCK]
    assert "product 1: a ledger row left available at -1" in broken[STOCK]


def test_stock_that_drifts_from_its_ledger_is_flagged() -> None:
    ops, db, _ = _sound()
    broken = _violated(ops, replace(db, stock={"1": 6}))
    assert "product 1: initial+adjustments+counts+restocks 8 - ordered 3 + canceled 2 = 7 != available 6" in broken[STOCK]
    assert "product 1: the ledger makes on hand 8 and reserved 1, the product 7 and 1" in broken[STOCK]


def test_a_double_restore_is_flagged() -> None:
    ops, db, _ = _sound()
    movements = db.movements + [Movement("1", K.CANCEL, 2, 9, "10")]
    broken = _violated(ops, replace(db, movements=movements, stock={"1": 9}))
    assert "order 10 (CANCELED): release rows {'1': 4} for canceled units {'1': 2}" in broken[PATHS]


def test_an_illegal_transition_is_flagged() -> None:
    ops, db, _ = _sound()
    shipped = replace(db.orders["11"], status=S.SHIPPED, path=[(None, S.PENDING), (S.PENDING, S.SHIPPED)])
    broken = _violated(ops, replace(db, orders=db.orders | {"11": shipped}))
    assert "order 11: illegal move PENDING -> SHIPPED" in broken[PATHS]


def test_an_acknowledged_adjustment_missing_from_the_ledger_is_flagged() -> None:
    ops, db, _ = _sound()
    movements = [m for m in db.movements if m.key != "k7"]
    broken = _violated(ops, replace(db, movements=movements, stock={"1": 4}))
    assert "key k7: acknowledged adjust is in the ledger 0 times" in broken[ACK]


def test_an_acknowledged_order_read_as_not_found_is_flagged() -> None:
    ops, db, _ = _sound()
    ops.append(_op("read", FAIL, "", {"order_id": "11"}, code="NOT_FOUND"))
    assert "order 11: acknowledged, then read as NOT_FOUND" in _violated(ops, db)[ACK]


def test_a_change_without_its_event_is_flagged() -> None:
    ops, db, stream = _sound()
    broken = _violated(ops, db, [e for e in stream if e.id != "order-11-2"])[EVENTS]
    assert "order 11: change 2 has no event" in broken
    assert "order 11: the stream ends at PENDING, the database holds CONFIRMED" in broken


def test_a_ledger_row_without_its_stock_event_is_flagged() -> None:
    ops, db, stream = _sound()
    broken = _violated(ops, db, [e for e in stream if e.id != "product-1-5"])[EVENTS]
    assert "product 1: ledger row 104 (ADJUSTMENT +3) has no event" in broken
    assert "product 1: the stream ends at stock 4, the database holds 7" in broken


def test_a_gap_in_a_sequence_is_flagged() -> None:
    ops, db, stream = _sound()
    broken = _violated(ops, db, [e for e in stream if e.id != "product-1-3"])[EVENTS]
    assert "product 1: sequences [1, 2, 4, 5] in stream order, not 1..4" in broken


def test_events_of_one_aggregate_out_of_sequence_are_flagged() -> None:
    ops, db, stream = _sound()
    first, second = stream.index(_order_event("10", 1, 1, S.PENDING)), stream.index(_order_event("10", 2, 3, S.CANCELED))
    stream[first], stream[second] = stream[second], stream[first]
    assert "order 10: sequences [2, 1] in stream order, not 1..2" in _violated(ops, db, stream)[EVENTS]


def test_a_duplicate_event_is_flagged() -> None:
    ops, db, stream = _sound()
    broken = _violated(ops, db, stream + [stream[0]])[EVENTS]
    assert broken == ["event order-10-1 is in the stream 2 times"]


def test_an_event_that_disagrees_with_its_change_is_flagged() -> None:
    ops, db, stream = _sound()
    wrong = [_order_event("11", 2, 3, S.CANCELED) if e.id == "order-11-2" else e for e in stream]
    broken = _violated(ops, db, wrong)[EVENTS]
    assert "order 11: its events move through ['PENDING', 'CANCELED'], its history ['PENDING', 'CONFIRMED']" in broken
    moved = [replace(e, movement=replace(e.movement, delta=4)) if e.id == "product-1-5" and e.movement else e for e in stream]
    assert any(v.startswith("product 1: event 5 says") for v in _violated(ops, db, moved)[EVENTS])


def test_an_event_of_a_change_the_database_does_not_have_is_flagged() -> None:
    ops, db, stream = _sound()
    broken = _violated(ops, db, stream + [_order_event("12", 1, 1, S.PENDING), _order_event("11", 3, 2, S.PICKED)])[EVENTS]
    assert "order 12: in the stream, not in the database" in broken
    assert "order 11: event 3 has no change in the database" in broken


def test_events_left_unpublished_are_flagged() -> None:
    ops, db, stream = _sound()
    assert _violated(ops, replace(db, unpublished=3), stream)[EVENTS] == ["3 outbox events were still unpublished when the run ended"]


def test_a_product_event_beyond_the_ledger_is_flagged() -> None:
    ops, db, stream = _sound()
    extra = _stock_event(6, Movement("1", K.ADJUSTMENT, 1, 8))
    broken = _violated(ops, db, stream + [extra])[EVENTS]
    assert "product 1: event 6 has no ledger row" in broken
    assert "product 1: the stream ends at stock 8, the database holds 7" in broken


def _shipped_and_counted() -> tuple[list[Operation], DbState, list[StreamEvent]]:
    """The sound run, then order 11 ships its unit (key k9, over REST) and a count finds 5 of the 6 on hand (key k10)."""
    ops, db, stream = _sound()
    ops += [
        _op("ship", OK, "k9", {"order_id": "11", "items": [["1", 1]]}, {"shipment_id": "1"}),
        _op("count", OK, "k10", {"product_id": "1", "counted": 5, "expected": 7}),
    ]
    order = replace(
        db.orders["11"], status=S.SHIPPED, path=[*db.orders["11"].path, (S.CONFIRMED, S.SHIPPED)], shipped={"1": 1}, version=3
    )
    moves = [Movement("1", K.SHIPMENT, -1, 7, "11", id="105"), Movement("1", K.COUNT, -2, 5, key="k10", id="106")]
    db = replace(
        db, stock={"1": 5}, reserved={"1": 0}, movements=db.movements + moves, orders=db.orders | {"11": order},
        shipments=[Shipped("11", {"1": 1}, False, "k9")],
    )
    stream += [_order_event("11", 3, 4, S.SHIPPED), _stock_event(6, moves[0]), _stock_event(7, moves[1])]
    return ops, db, stream


def test_a_sound_run_with_a_shipment_and_a_count_passes_every_invariant() -> None:
    verdicts = check(*_shipped_and_counted())
    assert [v.violations for v in verdicts] == [[]] * len(verdicts)


def test_shipped_units_that_no_shipment_holds_are_flagged() -> None:
    ops, db, stream = _shipped_and_counted()
    broken = {v.name: v.violations for v in check(ops, replace(db, shipments=[]), stream) if not v.ok}
    assert "order 11 product 1: shipped 1 != its shipments' 0" in broken[LINES]
    assert "key k9: acknowledged shipment is stored 0 times" in broken[ACK]


def test_a_reservation_left_behind_by_a_shipment_is_flagged() -> None:
    ops, db, stream = _shipped_and_counted()
    broken = {v.name: v.violations for v in check(ops, replace(db, reserved={"1": 1}), stream) if not v.ok}
    assert "product 1: reserved 1 != open units 0" in broken[STOCK]


def test_a_line_shipped_and_canceled_beyond_its_quantity_is_flagged() -> None:
    ops, db, stream = _shipped_and_counted()
    over = replace(db.orders["11"], canceled={"1": 1})
    broken = {v.name: v.violations for v in check(ops, replace(db, orders=db.orders | {"11": over}), stream) if not v.ok}
    assert "order 11 product 1: quantity 1, shipped 1, canceled 1" in broken[LINES]


def test_a_refused_count_that_left_its_row_is_flagged() -> None:
    ops, db, stream = _shipped_and_counted()
    ops.append(_op("count", FAIL, "k10", {"product_id": "1", "counted": 0, "expected": 9}, code="ABORTED"))
    ops.append(_op("count", FAIL, "k10", {"product_id": "1", "counted": 0, "expected": 5}, code="FAILED_PRECONDITION"))
    broken = {v.name: v.violations for v in check(ops, db, stream) if not v.ok}
    assert broken["a definite refusal created nothing"] == ["key k10: count refused with FAILED_PRECONDITION, yet it is in the ledger"]


def _returned() -> tuple[list[Operation], DbState, list[StreamEvent]]:
    """The shipped run, then order 11's unit comes back for restock (key k11): on hand and available 6."""
    ops, db, stream = _shipped_and_counted()
    ops.append(_op("return", OK, "k11", {"order_id": "11", "items": [["1", 1, 1]]}, {"return_id": "1"}))
    order = replace(
        db.orders["11"], path=[*db.orders["11"].path, (S.SHIPPED, S.SHIPPED)], returned={"1": 1}, version=4,
        in_place=[(S.SHIPPED, "returned")],
    )
    restock = Movement("1", K.RETURN, 1, 6, "11", id="107")
    db = replace(
        db, stock={"1": 6}, movements=[*db.movements, restock], orders=db.orders | {"11": order}, returns=[Returned("11", {"1": (1, 1)}, "k11")],
    )
    stream += [_order_event("11", 4, 6, S.SHIPPED), _stock_event(8, restock)]
    return ops, db, stream


def test_a_sound_run_with_a_restocking_return_passes_every_invariant() -> None:
    verdicts = check(*_returned())
    assert [v.violations for v in verdicts] == [[]] * len(verdicts)


def test_more_units_returned_than_shipped_or_than_the_returns_hold_are_flagged() -> None:
    ops, db, stream = _returned()
    over = replace(db.orders["11"], returned={"1": 2})
    broken = {v.name: v.violations for v in check(ops, replace(db, orders=db.orders | {"11": over}), stream) if not v.ok}
    assert broken[RETURNS] == ["order 11 product 1: returned 2 outside 0..shipped 1", "order 11 product 1: returned 2 != its returns' 1"]


def test_a_lost_return_is_flagged_by_its_line_its_restock_and_its_acknowledgement() -> None:
    ops, db, stream = _returned()
    broken = {v.name: v.violations for v in check(ops, replace(db, returns=[]), stream) if not v.ok}
    assert broken[RETURNS] == [
        "order 11 product 1: returned 1 != its returns' 0", "order 11 product 1: RETURN ledger rows 1 != restocked units 0",
        "order 11: 1 returns in its history, 0 stored",
    ]
    assert "key k11: acknowledged return is stored 0 times" in broken[ACK]
    assert "order 11: 1 RETURN_CREATED events for 0 returns" in broken[EVENTS]


def test_a_restock_missing_from_the_ledger_is_flagged() -> None:
    ops, db, stream = _returned()
    movements = [m for m in db.movements if m.kind != K.RETURN]
    broken = {v.name: v.violations for v in check(ops, replace(db, movements=movements), stream[:-1]) if not v.ok}
    assert "order 11 product 1: RETURN ledger rows 0 != restocked units 1" in broken[RETURNS]
    assert "product 1: the ledger makes on hand 5 and reserved 0, the product 6 and 0" in broken[STOCK]


def test_a_return_without_its_event_or_stored_behind_a_refusal_is_flagged() -> None:
    ops, db, stream = _returned()
    unannounced = [_order_event("11", 4, 2, S.SHIPPED) if e.id == "order-11-4" else e for e in stream]
    assert _violated(ops, db, unannounced)[EVENTS] == ["order 11: 0 RETURN_CREATED events for 1 returns"]
    ops.append(_op("return", FAIL, "k11", {"order_id": "11", "items": [["1", 1, 2]]}, code="FAILED_PRECONDITION"))
    broken = {v.name: v.violations for v in check(ops, db, stream) if not v.ok}
    assert broken[REFUSED] == ["key k11: return refused with FAILED_PRECONDITION, yet it is stored"]


TOTALS = "every order's total is the sum of its lines"


def _amended() -> tuple[list[Operation], DbState, list[StreamEvent]]:
    """The sound run, then order 11 (CONFIRMED, one unit at 10.00) is amended to three units (key k11);
    a validate_only amendment (k12) and one refused for stock (k13) change nothing; one that sets the
    line to what it is (k14) changes nothing but keeps its key."""
    ops, db, stream = _sound()
    ops += [
        _op("amend", OK, "k11", {"order_id": "11", "items": [["1", 3]], "validate_only": False}, {"status": S.CONFIRMED}),
        _op("amend", OK, "k12", {"order_id": "11", "items": [["1", 9]], "validate_only": True}, {"status": S.CONFIRMED}),
        _op("amend", FAIL, "k13", {"order_id": "11", "items": [["1", 99]], "validate_only": False}, code="FAILED_PRECONDITION"),
        _op("amend", OK, "k14", {"order_id": "11", "items": [["1", 3]], "validate_only": False}, {"status": S.CONFIRMED}),
    ]
    order = replace(
        db.orders["11"], items={"1": 3}, path=[*db.orders["11"].path, (S.CONFIRMED, S.CONFIRMED)], version=3, prices={"1": 1000},
        total=3000, in_place=[(S.CONFIRMED, "amended")],
    )
    move = Movement("1", K.ORDER, -2, 5, "11", id="105")
    db = replace(
        db, stock={"1": 5}, reserved={"1": 3}, movements=[*db.movements, move], orders=db.orders | {"11": order},
        amendments=[Amended("11", "k11"), Amended("11", "k14")],
    )
    stream += [_order_event("11", 3, 7, S.CONFIRMED), _stock_event(6, move)]
    return ops, db, stream


def _broken(ops: list[Operation], db: DbState, stream: list[StreamEvent]) -> dict[str, list[str]]:
    return {v.name: v.violations for v in check(ops, db, stream) if not v.ok}


def test_a_sound_run_with_amendments_passes_every_invariant() -> None:
    verdicts = check(*_amended())
    assert [v.violations for v in verdicts] == [[]] * len(verdicts)


def test_a_total_that_is_not_the_sum_of_its_lines_is_flagged() -> None:
    ops, db, stream = _amended()
    stale = replace(db.orders["11"], total=1000)  # the amendment's lines, the total from before
    assert _broken(ops, replace(db, orders=db.orders | {"11": stale}), stream)[TOTALS] == ["order 11: total 1000 cents != its lines' 3000"]


def test_an_amended_line_whose_reservation_the_ledger_lacks_is_flagged() -> None:
    ops, db, stream = _amended()
    more = replace(db.orders["11"], items={"1": 4}, total=4000)  # one unit more than the ledger reserved
    broken = _broken(ops, replace(db, orders=db.orders | {"11": more}), stream)
    assert "order 11 product 1: the ledger reserved 3 and released 0, the line has 4 with 0 canceled" in broken[PATHS]
    assert "product 1: reserved 3 != open units 4" in broken[STOCK]


def test_a_change_in_place_where_no_amendment_is_allowed_is_flagged() -> None:
    ops, db, stream = _amended()
    picked = replace(
        db.orders["11"], status=S.PICKED, path=[(None, S.PENDING), (S.PENDING, S.CONFIRMED), (S.CONFIRMED, S.PICKED), (S.PICKED, S.PICKED)],
        version=4,
    )
    stream += [_order_event("11", 4, 7, S.PICKED)]
    broken = _broken(ops, replace(db, orders=db.orders | {"11": picked}), stream)
    assert "order 11: a change in place at PICKED, where no amendment or return is allowed" in broken[PATHS]


def test_a_refused_or_validate_only_amendment_that_left_its_row_is_flagged() -> None:
    ops, db, stream = _amended()
    broken = _broken(ops, replace(db, amendments=[*db.amendments, Amended("11", "k12"), Amended("11", "k13")]), stream)
    assert broken[ACK] == ["key k12: a validate_only amendment left 1 amendment rows"]
    assert broken[REFUSED] == ["key k13: amendment refused with FAILED_PRECONDITION, yet it is stored"]


def test_an_acknowledged_amendment_without_exactly_one_row_of_its_order_is_flagged() -> None:
    ops, db, stream = _amended()
    stored = [Amended("11", "k11"), Amended("11", "k11"), Amended("10", "k14")]  # k11 twice; k14 on another order
    broken = _broken(ops, replace(db, amendments=stored), stream)
    assert broken[ACK] == [
        "key k11: acknowledged amendment of order 11 is stored as [Amended(order_id='11', key='k11'), Amended(order_id='11', key='k11')]",
        "key k14: acknowledged amendment of order 11 is stored as [Amended(order_id='10', key='k14')]",
    ]
    lost = _broken(ops, replace(db, amendments=[Amended("11", "k11")]), stream)  # the no-op's key was not kept
    assert lost[ACK] == ["key k14: acknowledged amendment of order 11 is stored as []"]


def test_an_amendment_without_its_event_or_history_row_is_flagged() -> None:
    ops, db, stream = _amended()
    unrecorded = replace(db.orders["11"], in_place=[], path=db.orders["11"].path[:-1])
    broken = _broken(ops, replace(db, orders=db.orders | {"11": unrecorded}), stream)
    assert "order 11: 1 AMENDED events, 0 amendments in its history" in broken[EVENTS]


def test_an_amendment_where_only_a_return_is_allowed_and_a_return_where_only_an_amendment_is_are_flagged() -> None:
    # SHIPPED allows a change in place (a return's row), but not an amendment's; CONFIRMED the reverse.
    ops, db, stream = _returned()
    amended_when_shipped = replace(db.orders["11"], in_place=[(S.SHIPPED, "amended")])
    assert "order 11: an amendment at SHIPPED" in _broken(ops, replace(db, orders=db.orders | {"11": amended_when_shipped}), stream)[PATHS]
    ops, db, stream = _amended()
    returned_when_confirmed = replace(db.orders["11"], in_place=[(S.CONFIRMED, "returned")])
    assert "order 11: a return at CONFIRMED" in _broken(ops, replace(db, orders=db.orders | {"11": returned_when_confirmed}), stream)[PATHS]


def test_units_left_open_in_a_shipped_order_are_flagged() -> None:
    ops, db, stream = _returned()
    more = replace(db.orders["11"], items={"1": 2})  # shipped 1 of 2, yet SHIPPED
    assert "order 11 (SHIPPED) product 1: 1 units still open" in _broken(ops, replace(db, orders=db.orders | {"11": more}), stream)[LINES]


def test_an_amendment_refused_for_a_stale_etag_that_left_its_row_is_flagged() -> None:
    # ABORTED / ETAG_MISMATCH is a definite refusal: the amendment must not have applied.
    ops, db, stream = _amended()
    stale = Operation(1, "amend", "k15", {"order_id": "11", "items": [["1", 2]], "validate_only": False, "etag": "1"}, FAIL, 0.0, 1.0, {},
                      (Attempt(FAIL, "ABORTED", "ETAG_MISMATCH"),))
    assert _broken([*ops, stale], db, stream) == {}
    broken = _broken([*ops, stale], replace(db, amendments=[*db.amendments, Amended("11", "k15")]), stream)
    assert "key k15: amendment refused with ABORTED, yet it is stored" in broken[REFUSED]
