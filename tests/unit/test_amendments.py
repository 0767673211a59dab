"""AmendOrder: the judgement (service/domain/amendments.py) and the use case on the in-memory fakes."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.domain import amendments
from service.domain.allocation import NewOrder
from service.domain.errors import (
    AmendmentEmptiesOrder,
    AmendmentTooManyLines,
    BelowFulfilled,
    DuplicateProduct,
    EtagMismatch,
    IdempotencyKeyReused,
    InsufficientStock,
    NotAmendable,
    NotFound,
    NotOrderable,
)
from service.domain.events import OrderEvent, OrderEventType, StockEvent
from service.domain.model import Caller, Customer, IdempotencyKey, MovementKind, Order, OrderItem, OrderLine, OrderStatus, Product
from service.domain.amendments import Amendment
from service.usecases import amendments as amend_use_case
from service.usecases import orders, products
from tests.unit.fakes import FakeUnitOfWork, Tables

NOW = datetime(2026, 12, 7, tzinfo=UTC)
CALLER = Caller("tester", "req-1")


@pytest.fixture
def tables() -> Tables:
    t = Tables()
    t.customers["c1"] = Customer("c1", "Ana", "12345678901", "ana@example.com", "", "", True, NOW, NOW)
    for pid, stock, price in (("p1", 5, "10.00"), ("p2", 2, "3.50"), ("p3", 4, "7.00")):
        t.products[pid] = Product(pid, f"SKU-{pid}", pid, "", Decimal(price), "BRL", stock, True, NOW, NOW)
    return t


def _order(tables: Tables, *lines: tuple[str, int]) -> Order:
    order, _ = orders.create_order(FakeUnitOfWork(tables), NewOrder(CALLER, "c1", [OrderLine(p, q) for p, q in lines], "", "BRL"))
    return order


def _amend(
    tables: Tables, order_id: str, *entries: tuple[str, int], etag: str = "", validate_only: bool = False, key: IdempotencyKey | None = None,
    reason: str = "customer called",
) -> tuple[Amendment, bool]:
    return amend_use_case.amend_order(
        FakeUnitOfWork(tables), CALLER, order_id, [OrderLine(p, q) for p, q in entries], reason, etag, validate_only, key
    )


def _figures(tables: Tables, pid: str) -> tuple[int, int, int]:
    p = tables.products[pid]
    return p.on_hand_quantity, p.reserved_quantity, p.stock_quantity


def test_an_amendment_reserves_increases_releases_decreases_and_recomputes_the_total(tables: Tables) -> None:
    order = _order(tables, ("p1", 2), ("p2", 2))
    tables.products["p3"].price = Decimal("8.00")  # today's price, for the new line
    amendment, replayed = _amend(tables, order.id, ("p1", 4), ("p2", 0), ("p3", 1))
    amended = amendment.order
    assert not replayed and amended == tables.orders[order.id]
    assert [(i.product_id, i.quantity, i.unit_price) for i in amended.items] == [("p1", 4, Decimal("10.00")), ("p3", 1, Decimal("8.00"))]
    assert amended.total == Decimal("48.00") and (amended.version, amended.status) == (2, OrderStatus.PENDING)
    assert (_figures(tables, "p1"), _figures(tables, "p2"), _figures(tables, "p3")) == ((5, 4, 1), (2, 0, 2), (4, 1, 3))
    assert [(m.product_id, m.kind, m.delta) for m in tables.ledger[-3:]] == [
        ("p1", MovementKind.ORDER, -2), ("p2", MovementKind.CANCEL, 2), ("p3", MovementKind.ORDER, -1)
    ]
    change = tables.history[-1]
    assert (change.from_status, change.to_status, change.reason, change.actor) == (OrderStatus.PENDING, OrderStatus.PENDING, "amended: customer called", "tester")
    [event] = [e for e in tables.events if isinstance(e, OrderEvent) and e.type == OrderEventType.AMENDED]
    assert (event.sequence, event.order) == (2, amended)
    assert [e.sequence for e in tables.events[-3:] if isinstance(e, StockEvent)] == [2, 2, 1]


def test_an_amendment_short_of_stock_names_every_short_product_and_changes_nothing(tables: Tables) -> None:
    order = _order(tables, ("p1", 2), ("p2", 1))
    before = copy.deepcopy(tables)
    with pytest.raises(InsufficientStock) as short:
        _amend(tables, order.id, ("p1", 9), ("p2", 3), ("p3", 2))
    assert [(s.product_id, s.requested, s.available) for s in short.value.shortages] == [("p1", 7, 3), ("p2", 2, 1)]
    assert [v.subject for v in short.value.violations] == ["products/p1", "products/p2"]
    assert tables == before


def test_validate_only_answers_what_the_order_would_become_and_changes_nothing(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    before = copy.deepcopy(tables)
    preview, _ = _amend(tables, order.id, ("p1", 1), ("p2", 3), validate_only=True, key=IdempotencyKey("alice", "v1", "fp"))
    assert [(i.product_id, i.quantity) for i in preview.order.items] == [("p1", 1), ("p2", 3)]
    assert preview.order.total == Decimal("20.50") and preview.order.etag == order.etag
    assert [(s.product_id, s.requested, s.available) for s in preview.shortages] == [("p2", 3, 2)]
    assert tables == before
    fits, _ = _amend(tables, order.id, ("p1", 3), validate_only=True)
    assert fits.shortages == [] and fits.order.total == Decimal("30.00") and tables == before


def test_an_amendment_that_changes_no_quantity_writes_nothing(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    before = copy.deepcopy(tables)
    same, _ = _amend(tables, order.id, ("p1", 2), ("p3", 0))
    assert same.order == order and tables == before


def test_a_keyed_amendment_that_changes_nothing_keeps_its_key_so_a_late_retry_replays(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    key = IdempotencyKey("alice", "same", "fp")
    same, replayed = _amend(tables, order.id, ("p1", 2), key=key)
    assert (same.order, replayed) == (order, False)
    assert (tables.orders[order.id].version, len(tables.ledger), len(tables.history)) == (1, 1, 1)  # no change, no history, no event
    fewer, _ = _amend(tables, order.id, ("p1", 1))
    retry, replayed = _amend(tables, order.id, ("p1", 2), key=key)  # Redis has forgotten the key
    assert (retry.order, replayed) == (fewer.order, True) and tables.orders[order.id] == fewer.order
    assert _figures(tables, "p1") == (5, 1, 4)
    assert [(a.order_id, a.reason, a.actor) for a in tables.amendments.values()] == [(order.id, "customer called", "tester")] * 2


def test_every_amendment_that_applies_writes_its_row_and_its_ledger_rows_carry_no_key(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    _amend(tables, order.id, ("p1", 3), ("p2", 1), key=IdempotencyKey("alice", "k", "fp"))
    _amend(tables, order.id, ("p1", 1))
    assert [a.order_id for a in tables.amendments.values()] == [order.id, order.id]
    assert list(tables.amendment_keys) == [("alice", "k")] and tables.ledger_keys == {}


def test_a_key_used_for_adjust_stock_is_free_for_amend_order(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    products.adjust_stock(FakeUnitOfWork(tables), CALLER, "p1", 3, "found", IdempotencyKey("alice", "K", "adjust-fp"))
    amended, replayed = _amend(tables, order.id, ("p1", 4), key=IdempotencyKey("alice", "K", "amend-fp"))
    assert (replayed, amended.order.items[0].quantity) == (False, 4) and _figures(tables, "p1") == (8, 4, 4)


def test_only_pending_and_confirmed_orders_can_be_amended(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    orders.update_order_status(FakeUnitOfWork(tables), CALLER, order.id, OrderStatus.CONFIRMED, "")
    assert _amend(tables, order.id, ("p1", 3))[0].order.status == OrderStatus.CONFIRMED
    orders.update_order_status(FakeUnitOfWork(tables), CALLER, order.id, OrderStatus.PICKED, "")
    with pytest.raises(NotAmendable) as refused:
        _amend(tables, order.id, ("p1", 1))
    assert refused.value.reason == "ORDER_NOT_AMENDABLE" and refused.value.metadata["current_status"] == "PICKED"
    canceled = _order(tables, ("p2", 1))
    orders.cancel_order(FakeUnitOfWork(tables), CALLER, canceled.id, "gone")
    with pytest.raises(NotAmendable):
        _amend(tables, canceled.id, ("p2", 1))


def test_bad_amendments_are_refused_precisely_and_change_nothing(tables: Tables) -> None:
    order = _order(tables, ("p1", 2), ("p2", 1))
    tables.products["p3"].delete_time = NOW
    before = copy.deepcopy(tables)
    with pytest.raises(DuplicateProduct) as twice:
        _amend(tables, order.id, ("p1", 1), ("p2", 1), ("p1", 3))
    assert [(v.field, v.reason) for v in twice.value.violations] == [("items[2].product_id", "DUPLICATE_PRODUCT")]
    with pytest.raises(AmendmentEmptiesOrder):
        _amend(tables, order.id, ("p1", 0), ("p2", 0))
    with pytest.raises(NotFound) as unknown:
        _amend(tables, order.id, ("p9", 1))
    assert unknown.value.resource_ids == ("p9",)
    with pytest.raises(NotOrderable) as deleted:
        _amend(tables, order.id, ("p3", 1))
    assert deleted.value.reason == "PRODUCT_DELETED"
    with pytest.raises(EtagMismatch):
        _amend(tables, order.id, ("p1", 3), etag="7")
    with pytest.raises(NotFound):
        _amend(tables, "404", ("p1", 3))
    assert tables == before


def test_a_stale_etag_never_applies_and_the_current_one_does(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    first, _ = _amend(tables, order.id, ("p1", 3), etag=order.etag)
    with pytest.raises(EtagMismatch):
        _amend(tables, order.id, ("p1", 4), etag=order.etag)
    assert tables.orders[order.id].items[0].quantity == 3
    assert _amend(tables, order.id, ("p1", 4), etag=first.order.etag)[0].order.version == 3


def test_a_repeat_with_its_key_replays_and_a_changed_request_is_refused(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    key = IdempotencyKey("alice", "a1", "fp")
    first, replayed = _amend(tables, order.id, ("p1", 4), key=key)
    again, replayed_again = _amend(tables, order.id, ("p1", 4), key=key)
    assert (replayed, replayed_again, again.order) == (False, True, first.order)
    assert _figures(tables, "p1") == (5, 4, 1) and len(tables.ledger) == 2  # the order, one amendment
    with pytest.raises(IdempotencyKeyReused):
        _amend(tables, order.id, ("p1", 1), key=IdempotencyKey("alice", "a1", "another request"))


def test_a_retry_refused_because_its_first_attempt_moved_the_etag_meanwhile_replays_it(tables: Tables) -> None:
    order = _order(tables, ("p1", 2))
    key = IdempotencyKey("alice", "a2", "fp")
    first, _ = _amend(tables, order.id, ("p1", 5), etag=order.etag, key=key)
    uow = FakeUnitOfWork(tables)
    real, calls = uow.amendments.find_by_key, []

    def late(k: IdempotencyKey) -> object:  # the retry's first lookup ran before the first attempt committed
        calls.append(k)
        return None if len(calls) == 1 else real(k)

    uow.amendments.find_by_key = late  # type: ignore[method-assign,assignment]
    retry = amend_use_case.amend_order(uow, CALLER, order.id, [OrderLine("p1", 5)], "customer called", order.etag, False, key)
    assert retry == (Amendment(first.order, [], [], []), True) and len(tables.ledger) == 2


def test_a_line_never_goes_below_what_it_shipped_or_canceled() -> None:
    item = OrderItem("p1", "SKU-p1", 5, Decimal("1"), shipped_quantity=0, canceled_quantity=2)
    order = Order("o1", "c1", OrderStatus.CONFIRMED, [item, replace(item, product_id="p2", canceled_quantity=0)], "BRL", "", NOW, NOW)
    with pytest.raises(BelowFulfilled) as below:
        amendments.changes(order, [OrderLine("p2", 0), OrderLine("p1", 1)])
    assert [v.subject for v in below.value.violations] == ["items[1]"]
    assert amendments.changes(order, [OrderLine("p1", 2), OrderLine("p2", 6)]) == {"p1": -3, "p2": 1}


def test_an_amendment_may_not_take_an_order_past_the_lines_createorder_takes(tables: Tables) -> None:
    order = _order(tables, ("p1", 1))
    full = replace(order, items=[replace(order.items[0], product_id=f"q{i}") for i in range(amendments.MAX_LINES)])
    with pytest.raises(AmendmentTooManyLines) as caught:
        amendments.changes(full, [OrderLine("p2", 1)])
    assert caught.value.reason == "TOO_MANY_LINES"
    assert amendments.changes(full, [OrderLine("q0", 0), OrderLine("p2", 1)]) == {"q0": -1, "p2": 1}  # one out, one in
