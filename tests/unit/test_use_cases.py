"""The use cases in service/usecases/, on the in-memory fakes of tests/unit/fakes.py: no database, milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import copy

import pytest

from service.domain.allocation import NewOrder
from service.domain.errors import (
    CountBelowReserved,
    EtagMismatch,
    ExceedsOpenQuantity,
    ExceedsShippedQuantity,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidArgument,
    InvalidStatusTransition,
    LockContention,
    NotFound,
    StockBelowReserved,
    StockMoved,
)
from service.domain.events import OrderEvent, OrderEventType, StockEvent
from service.domain.model import (
    Caller,
    Customer,
    IdempotencyKey,
    MovementKind,
    Order,
    OrderLine,
    OrderStatus,
    Page,
    Product,
    Return,
    ReturnDisposition,
    ReturnLine,
    Shipment,
    ShipmentState,
    Stock,
    StockMovement,
)
from service.domain.ports import OrderFilter, UnitOfWork
from service.usecases import customers, orders, products
from service.usecases.retry import RetryPolicy
from service.usecases.runner import Runner
from tests.unit.fakes import FakeUnitOfWork, Tables

NOW = datetime(2026, 12, 2, tzinfo=UTC)
CALLER = Caller("tester", "req-1")


@pytest.fixture
def tables() -> Tables:
    t = Tables()
    t.customers["c1"] = Customer("c1", "Ana", "12345678901", "ana@example.com", "", "", True, NOW, NOW)
    for pid, stock in (("p1", 5), ("p2", 2)):
        t.products[pid] = Product(pid, f"SKU-{pid}", pid, "", Decimal("10.00"), "BRL", stock, True, NOW, NOW)
    return t


def _key(key: str, fingerprint: str = "fp") -> IdempotencyKey:
    return IdempotencyKey("alice", key, fingerprint)


def _create(tables: Tables, *lines: tuple[str, int], key: IdempotencyKey | None = None) -> tuple[object, bool]:
    return orders.create_order(FakeUnitOfWork(tables), NewOrder(CALLER, "c1", [OrderLine(p, q) for p, q in lines], "", "BRL", key))


def test_a_create_refused_for_stock_its_first_call_took_replays_that_order(tables: Tables) -> None:
    first, replayed = _create(tables, ("p1", 4), key=_key("k1"))
    assert not replayed and tables.products["p1"].stock_quantity == 1
    again, replayed = _create(tables, ("p1", 4), key=_key("k1"))  # would be short now: the stored order answers
    assert replayed and again == first
    assert len(tables.orders) == 1 and [m.delta for m in tables.ledger] == [-4]
    with pytest.raises(InsufficientStock):
        _create(tables, ("p1", 4), key=_key("k2"))  # a new key is a new order, and it is short
    with pytest.raises(IdempotencyKeyReused):
        _create(tables, ("p2", 9), key=_key("k1", "another request"))


def test_a_refused_create_writes_nothing(tables: Tables) -> None:
    with pytest.raises(InsufficientStock):
        _create(tables, ("p1", 1), ("p2", 3))
    with pytest.raises(NotFound):
        _create(tables, ("p1", 1), ("nope", 1))
    assert (tables.orders, tables.ledger, tables.history, tables.events) == ({}, [], [], [])
    assert (tables.products["p1"].stock_quantity, tables.products["p2"].stock_quantity) == (5, 2)


def test_cancel_returns_the_stock_exactly_once(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 3), ("p2", 2))
    canceled = orders.cancel_order(FakeUnitOfWork(tables), CALLER, order.id, "changed mind")  # type: ignore[attr-defined]
    assert canceled.status == OrderStatus.CANCELED
    with pytest.raises(InvalidStatusTransition):
        orders.cancel_order(FakeUnitOfWork(tables), CALLER, order.id, "again")  # type: ignore[attr-defined]
    assert (tables.products["p1"].stock_quantity, tables.products["p2"].stock_quantity) == (5, 2)
    assert sorted((m.product_id, m.kind, m.delta) for m in tables.ledger if m.kind == MovementKind.CANCEL) == [
        ("p1", MovementKind.CANCEL, 3), ("p2", MovementKind.CANCEL, 2)
    ]
    assert [(c.from_status, c.to_status) for c in tables.history] == [(None, OrderStatus.PENDING), (OrderStatus.PENDING, OrderStatus.CANCELED)]


def test_adjust_stock_moves_the_stock_once_per_key_and_never_below_zero(tables: Tables) -> None:
    product, movement, replayed = products.adjust_stock(FakeUnitOfWork(tables), CALLER, "p2", 3, "recount", _key("a1"))
    assert (product.stock_quantity, movement.stock_after, replayed) == (5, 5, False)
    again = products.adjust_stock(FakeUnitOfWork(tables), CALLER, "p2", 3, "recount", _key("a1"))
    assert again[2] and again[1] == movement and tables.products["p2"].stock_quantity == 5
    with pytest.raises(InsufficientStock):
        products.adjust_stock(FakeUnitOfWork(tables), CALLER, "p2", -6, "too much")
    assert [m.delta for m in tables.ledger] == [3] and tables.products["p2"].stock_quantity == 5


def test_a_batch_allocates_in_arrival_order_refuses_only_the_short_order_and_replays_a_repeated_key(tables: Tables) -> None:
    def new(quantity: int, key: str | None = None) -> NewOrder:
        return NewOrder(CALLER, "c1", [OrderLine("p1", quantity)], "", "BRL", _key(key) if key else None)

    outcomes = orders.create_orders(FakeUnitOfWork(tables), [new(3, "b1"), new(3), new(2, "b2"), new(3, "b1")])
    first, short, third, repeat = outcomes
    assert isinstance(short, InsufficientStock)
    assert first[1] is False and third[1] is False  # type: ignore[index]
    assert repeat == (first[0], True)  # type: ignore[index]
    assert tables.products["p1"].stock_quantity == 0 and len(tables.orders) == 2
    assert [m.stock_after for m in tables.ledger] == [2, 0]  # the ledger follows arrival order
    assert [e.sequence for e in tables.events if isinstance(e, StockEvent)] == [1, 2]


def test_the_runner_re_runs_a_use_case_that_met_contention_with_a_fresh_transaction(tables: Tables) -> None:
    attempts: list[UnitOfWork] = []

    def flaky(uow: UnitOfWork) -> int:
        attempts.append(uow)
        if len(attempts) < 3:
            with uow:
                uow.products.set_stock({"p1": Stock(0, 0)}, NOW, {"p1": 9})  # written, then lost with the rollback
                raise LockContention(1)
        return len(attempts)

    run = Runner(lambda: FakeUnitOfWork(tables), RetryPolicy(attempts=5, base_delay=0, max_delay=0))
    assert run(flaky) == 3
    assert len({id(u) for u in attempts}) == 3 and tables.products["p1"].stock_quantity == 5


def test_a_customer_whose_document_has_wrong_check_digits_is_refused_and_not_written(tables: Tables) -> None:
    with pytest.raises(InvalidArgument) as caught:
        customers.create_customer(FakeUnitOfWork(tables), "Bia", "52998224724", "bia@example.com", "", "")
    assert [v.reason for v in caught.value.violations] == ["DOCUMENT_CHECK_DIGITS"]
    assert list(tables.customers) == ["c1"]
    created = customers.create_customer(FakeUnitOfWork(tables), "Bia", "52998224725", "bia@example.com", "", "")
    assert tables.customers[created.id].document == "52998224725"


def test_a_stored_customer_with_an_invalid_document_can_still_be_updated(tables: Tables) -> None:
    # c1's document, 12345678901, predates the check: existing rows are kept as they are.
    updated = customers.update_customer(FakeUnitOfWork(tables), "c1", {"name": "Ana Maria"})
    assert (updated.name, updated.document) == ("Ana Maria", "12345678901")


def test_batch_get_is_all_or_nothing_and_names_every_unknown_id_once(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 1))
    assert orders.batch_get_orders(FakeUnitOfWork(tables), [order.id, order.id]) == [order, order]
    with pytest.raises(NotFound) as caught:
        orders.batch_get_orders(FakeUnitOfWork(tables), ["x", order.id, "y", "x"])
    assert caught.value.resource_ids == ("x", "y")


def test_an_export_reads_page_after_page_until_the_last_and_repeats_no_order(tables: Tables) -> None:
    placed = [_create(tables, ("p1", 1))[0] for _ in range(5)]
    reads: list[int] = []

    def run(use_case, *args):  # type: ignore[no-untyped-def]
        reads.append(1)
        return use_case(FakeUnitOfWork(tables), *args)

    assert list(orders.export_orders(run, OrderFilter(), 2)) == placed[::-1]
    assert len(reads) == 3


def _figures(tables: Tables, pid: str) -> tuple[int, int, int]:
    p = tables.products[pid]
    return p.on_hand_quantity, p.reserved_quantity, p.stock_quantity


def _move(tables: Tables, order_id: str, *targets: OrderStatus) -> Order:
    for target in targets:
        moved = orders.update_order_status(FakeUnitOfWork(tables), CALLER, order_id, target, "")
    return moved


def test_an_order_reserves_its_units_without_touching_on_hand(tables: Tables) -> None:
    _create(tables, ("p1", 3))
    assert _figures(tables, "p1") == (5, 3, 2)
    events = [e for e in tables.events if isinstance(e, StockEvent)]
    assert [(e.on_hand, e.reserved, e.movement.stock_after) for e in events] == [(5, 3, 2)]


def test_shipping_by_status_ships_every_open_unit_in_one_shipment(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 3), ("p2", 2))
    shipped = _move(tables, order.id, OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.SHIPPED)  # type: ignore[attr-defined]
    assert [(i.shipped_quantity, i.open_quantity) for i in shipped.items] == [(3, 0), (2, 0)]
    assert (_figures(tables, "p1"), _figures(tables, "p2")) == ((2, 0, 2), (0, 0, 0))
    [shipment] = tables.shipments.values()
    assert (shipment.items, shipment.state) == ({"p1": 3, "p2": 2}, ShipmentState.SHIPPED)
    assert [(m.kind, m.delta) for m in tables.ledger if m.order_id == order.id][-2:] == [  # type: ignore[attr-defined]
        (MovementKind.SHIPMENT, -3), (MovementKind.SHIPMENT, -2)
    ]
    delivered = _move(tables, order.id, OrderStatus.DELIVERED)  # type: ignore[attr-defined]
    assert delivered.status == OrderStatus.DELIVERED and tables.shipments[shipment.id].state == ShipmentState.DELIVERED
    assert [e.sequence for e in tables.events if isinstance(e, OrderEvent)] == [1, 2, 3, 4, 5]


def test_a_cancel_of_a_picked_order_releases_its_reservation_once(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 3))
    _move(tables, order.id, OrderStatus.CONFIRMED, OrderStatus.PICKED)  # type: ignore[attr-defined]
    canceled = orders.cancel_order(FakeUnitOfWork(tables), CALLER, order.id, "gone")  # type: ignore[attr-defined]
    assert [(i.canceled_quantity, i.open_quantity) for i in canceled.items] == [(3, 0)]
    assert (canceled.status, canceled.version, _figures(tables, "p1")) == (OrderStatus.CANCELED, 4, (5, 0, 5))
    with pytest.raises(InvalidStatusTransition):
        orders.cancel_order(FakeUnitOfWork(tables), CALLER, order.id, "again")  # type: ignore[attr-defined]


def test_an_adjustment_changes_on_hand_and_cannot_take_it_below_the_reservations(tables: Tables) -> None:
    _create(tables, ("p1", 3))
    product, movement, _ = products.adjust_stock(FakeUnitOfWork(tables), CALLER, "p1", -2, "damaged")
    assert (product.on_hand_quantity, product.reserved_quantity, movement.stock_after) == (3, 3, 0)
    with pytest.raises(StockBelowReserved):
        products.adjust_stock(FakeUnitOfWork(tables), CALLER, "p1", -1, "damaged")
    assert _figures(tables, "p1") == (3, 3, 0)


def _ship(tables: Tables, order_id: str, *lines: tuple[str, int], key: IdempotencyKey | None = None, etag: str = "") -> tuple[Shipment, bool]:
    return orders.create_shipment(FakeUnitOfWork(tables), CALLER, order_id, [OrderLine(p, q) for p, q in lines], "DHL", "T1", etag, key)


def test_partial_shipments_take_units_from_on_hand_and_the_reservation_until_nothing_is_open(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 4))
    _move(tables, order.id, OrderStatus.CONFIRMED)  # type: ignore[attr-defined]
    first, replayed = _ship(tables, order.id, ("p1", 1), ("p1", 2), key=_key("s1"))  # type: ignore[attr-defined]
    assert (first.items, replayed, _figures(tables, "p1")) == ({"p1": 3}, False, (2, 1, 1))
    assert tables.orders[order.id].status == OrderStatus.PARTIALLY_SHIPPED  # type: ignore[attr-defined]
    assert _ship(tables, order.id, ("p1", 1), ("p1", 2), key=_key("s1")) == (first, True)  # type: ignore[attr-defined]
    with pytest.raises(ExceedsOpenQuantity):
        _ship(tables, order.id, ("p1", 2))  # type: ignore[attr-defined]
    last, _ = _ship(tables, order.id, ("p1", 1))  # type: ignore[attr-defined]
    assert tables.orders[order.id].status == OrderStatus.SHIPPED and _figures(tables, "p1") == (1, 0, 1)  # type: ignore[attr-defined]
    orders.deliver_shipment(FakeUnitOfWork(tables), CALLER, order.id, first.id)  # type: ignore[attr-defined]
    assert tables.orders[order.id].status == OrderStatus.SHIPPED  # type: ignore[attr-defined]
    orders.deliver_shipment(FakeUnitOfWork(tables), CALLER, order.id, last.id)  # type: ignore[attr-defined]
    assert tables.orders[order.id].status == OrderStatus.DELIVERED  # type: ignore[attr-defined]
    kinds = [e.type for e in tables.events if isinstance(e, OrderEvent)]
    assert kinds == [OrderEventType.CREATED, OrderEventType.STATUS_CHANGED, *[OrderEventType.SHIPMENT_CREATED] * 2, *[OrderEventType.SHIPMENT_DELIVERED] * 2]
    assert [e.sequence for e in tables.events if isinstance(e, OrderEvent)] == [1, 2, 3, 4, 5, 6]


def test_a_cancel_after_a_partial_shipment_cancels_only_the_rest_and_ships_the_order(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 4), ("p2", 2))
    _move(tables, order.id, OrderStatus.CONFIRMED)  # type: ignore[attr-defined]
    _ship(tables, order.id, ("p1", 1))  # type: ignore[attr-defined]
    canceled = orders.cancel_order(FakeUnitOfWork(tables), CALLER, order.id, "rest not wanted")  # type: ignore[attr-defined]
    assert [(i.shipped_quantity, i.canceled_quantity) for i in canceled.items] == [(1, 3), (0, 2)]
    assert canceled.status == OrderStatus.SHIPPED
    assert (_figures(tables, "p1"), _figures(tables, "p2")) == ((4, 0, 4), (2, 0, 2))
    with pytest.raises(InvalidStatusTransition):
        _ship(tables, order.id, ("p1", 1))  # type: ignore[attr-defined]


def test_a_stale_etag_changes_nothing(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 2))
    with pytest.raises(EtagMismatch):
        orders.cancel_order(FakeUnitOfWork(tables), CALLER, order.id, "x", etag="7")  # type: ignore[attr-defined]
    moved = orders.update_order_status(FakeUnitOfWork(tables), CALLER, order.id, OrderStatus.CONFIRMED, "", etag="1")  # type: ignore[attr-defined]
    assert moved.etag == "2"
    with pytest.raises(EtagMismatch):
        _ship(tables, order.id, ("p1", 1), etag="1")  # type: ignore[attr-defined]
    assert _figures(tables, "p1") == (5, 2, 3) and not tables.shipments


def test_a_count_sets_on_hand_once_per_key_and_refuses_a_stale_expectation_or_a_figure_below_the_reservations(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 2))

    def count(counted: int, expected: int, key: IdempotencyKey | None = None) -> tuple[Product, StockMovement, bool]:
        return products.count_stock(FakeUnitOfWork(tables), CALLER, "p1", counted, expected, "cycle count", key)

    product, movement, replayed = count(4, 5, _key("c1"))
    assert (product.on_hand_quantity, movement.kind, movement.delta, movement.stock_after, replayed) == (4, MovementKind.COUNT, -1, 2, False)
    assert count(4, 5, _key("c1"))[1:] == (movement, True)
    with pytest.raises(StockMoved) as moved:
        count(3, 5)
    assert moved.value.metadata["on_hand"] == "4"
    with pytest.raises(CountBelowReserved) as below:
        count(1, 4)
    assert below.value.metadata["order_ids"] == order.id  # type: ignore[attr-defined]
    assert _figures(tables, "p1") == (4, 2, 2)


def _blind_first_lookup(repository: object) -> None:
    """The repository's first key lookup misses: it ran before the call's first attempt committed."""
    real, calls = repository.find_by_key, []  # type: ignore[attr-defined]

    def late(key: IdempotencyKey) -> object:
        calls.append(key)
        return None if len(calls) == 1 else real(key)

    repository.find_by_key = late  # type: ignore[attr-defined]


def test_a_retry_refused_because_its_first_attempt_shipped_meanwhile_replays_that_shipment(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 2))
    _move(tables, order.id, OrderStatus.CONFIRMED)  # type: ignore[attr-defined]
    first, _ = _ship(tables, order.id, ("p1", 2), key=_key("s9"))  # type: ignore[attr-defined]
    uow = FakeUnitOfWork(tables)
    _blind_first_lookup(uow.shipments)
    retry = orders.create_shipment(uow, CALLER, order.id, [OrderLine("p1", 2)], "DHL", "T1", "", _key("s9"))  # type: ignore[attr-defined]
    assert retry == (first, True) and len(tables.shipments) == 1


def test_a_retry_refused_because_its_first_attempt_counted_meanwhile_replays_that_count(tables: Tables) -> None:
    _, first, _ = products.count_stock(FakeUnitOfWork(tables), CALLER, "p1", 4, 5, "count", _key("c9"))
    uow = FakeUnitOfWork(tables)
    _blind_first_lookup(uow.ledger)
    assert products.count_stock(uow, CALLER, "p1", 4, 5, "count", _key("c9"))[1:] == (first, True)  # on hand is 4 now: STOCK_MOVED, but replayed


RESTOCK, SCRAP = ReturnDisposition.RESTOCK, ReturnDisposition.SCRAP


def _return(
    tables: Tables, order_id: str, *lines: tuple[str, int, ReturnDisposition], key: IdempotencyKey | None = None, etag: str = ""
) -> tuple[Return, bool]:
    return orders.create_return(FakeUnitOfWork(tables), CALLER, order_id, [ReturnLine(*line) for line in lines], "damaged box", etag, key)


def _shipped(tables: Tables, *lines: tuple[str, int]) -> Order:
    order, _ = _create(tables, *lines)
    return _move(tables, order.id, OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.SHIPPED)  # type: ignore[attr-defined]


def test_a_return_restocks_on_hand_scraps_the_rest_and_leaves_the_status_where_it_was(tables: Tables) -> None:
    order = _shipped(tables, ("p1", 3), ("p2", 2))
    taken, replayed = _return(tables, order.id, ("p1", 2, RESTOCK), ("p2", 1, SCRAP), key=_key("r1"))
    assert (taken.items, taken.reason, replayed) == ((ReturnLine("p1", 2, RESTOCK), ReturnLine("p2", 1, SCRAP)), "damaged box", False)
    after = tables.orders[order.id]
    assert [i.returned_quantity for i in after.items] == [2, 1]
    assert (after.status, after.version) == (OrderStatus.SHIPPED, order.version + 1)
    assert (_figures(tables, "p1"), _figures(tables, "p2")) == ((4, 0, 4), (0, 0, 0))  # 5 - 3 shipped + 2 back; scrap stays out
    assert [(m.product_id, m.kind, m.delta, m.stock_after) for m in tables.ledger[-1:]] == [("p1", MovementKind.RETURN, 2, 4)]
    last = tables.history[-1]
    assert (last.from_status, last.to_status, last.reason, last.actor) == (OrderStatus.SHIPPED, OrderStatus.SHIPPED, "returned: damaged box", "tester")
    event, stock = tables.events[-2:]
    assert isinstance(event, OrderEvent) and isinstance(stock, StockEvent)
    assert (event.type, event.sequence, event.order_return, stock.movement.kind) == (OrderEventType.RETURN_CREATED, after.version, taken, MovementKind.RETURN)
    assert _return(tables, order.id, ("p1", 2, RESTOCK), ("p2", 1, SCRAP), key=_key("r1")) == (taken, True)
    assert len(tables.returns) == 1 and _figures(tables, "p1") == (4, 0, 4)  # the replay moved nothing


def test_a_return_above_what_shipped_and_was_not_returned_yet_names_each_line_and_changes_nothing(tables: Tables) -> None:
    order, _ = _create(tables, ("p1", 4), ("p2", 1))
    _move(tables, order.id, OrderStatus.CONFIRMED)  # type: ignore[attr-defined]
    with pytest.raises(ExceedsShippedQuantity):
        _return(tables, order.id, ("p1", 1, RESTOCK))  # nothing shipped yet
    _ship(tables, order.id, ("p1", 2))  # type: ignore[attr-defined]
    _return(tables, order.id, ("p1", 1, SCRAP))  # type: ignore[attr-defined]
    before = copy.deepcopy(tables)
    with pytest.raises(ExceedsShippedQuantity) as over:
        _return(tables, order.id, ("p1", 2, RESTOCK), ("p2", 1, RESTOCK), ("p9", 1, SCRAP))  # type: ignore[attr-defined]
    assert [(v.type, v.subject) for v in over.value.violations] == [
        ("SHIPPED_QUANTITY", "items[0]"), ("SHIPPED_QUANTITY", "items[1]"), ("NOT_ON_ORDER", "items[2]"),
    ]
    assert "requested 2, shipped and not yet returned 1" in over.value.message
    assert tables == before


def test_a_return_naming_a_product_twice_is_invalid_and_changes_nothing(tables: Tables) -> None:
    order = _shipped(tables, ("p1", 3))
    before = copy.deepcopy(tables)
    with pytest.raises(InvalidArgument) as twice:
        _return(tables, order.id, ("p1", 1, RESTOCK), ("p1", 1, SCRAP))
    assert [(v.field, v.reason) for v in twice.value.violations] == [("items[1].product_id", "DUPLICATE_PRODUCT")]
    assert tables == before


def test_a_return_with_a_stale_etag_changes_nothing_and_a_retry_its_first_attempt_answered_replays(tables: Tables) -> None:
    order = _shipped(tables, ("p1", 2))
    with pytest.raises(EtagMismatch):
        _return(tables, order.id, ("p1", 1, RESTOCK), etag="1")
    assert not tables.returns
    first, _ = _return(tables, order.id, ("p1", 2, RESTOCK), key=_key("r9"), etag=order.etag)
    uow = FakeUnitOfWork(tables)
    _blind_first_lookup(uow.returns)
    retry = orders.create_return(uow, CALLER, order.id, [ReturnLine("p1", 2, RESTOCK)], "damaged box", order.etag, _key("r9"))
    assert retry == (first, True) and len(tables.returns) == 1  # refused as stale and over-returned, yet replayed
    with pytest.raises(IdempotencyKeyReused):
        orders.create_return(FakeUnitOfWork(tables), CALLER, order.id, [ReturnLine("p1", 1, SCRAP)], "x", "", _key("r9", "other"))
    listed = orders.list_returns(FakeUnitOfWork(tables), order.id, Page(10))
    assert listed.items == [first]
