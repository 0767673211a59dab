"""The use cases in service/usecases/, on the in-memory fakes of tests/unit/fakes.py: no database, milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.domain.allocation import NewOrder
from service.domain.errors import IdempotencyKeyReused, InsufficientStock, InvalidArgument, InvalidStatusTransition, LockContention, NotFound
from service.domain.events import StockEvent
from service.domain.model import Caller, Customer, IdempotencyKey, MovementKind, OrderLine, OrderStatus, Product
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
                uow.products.set_stock({"p1": 0}, NOW, {"p1": 9})  # written, then lost with the rollback
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
