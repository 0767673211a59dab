"""Write-behind on MariaDB (storage.write_behind): an order's writes leave in one round trip under the
locks, in program order, all or nothing, and never outlive their transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, exc

from service.domain.allocation import NewOrder
from service.domain.model import Stock, Caller, OrderLine, OrderStatus, Page, StatusChange
from service.domain.ports import ProductFilter
from service.usecases import customers, orders, products
from service.runtime.bootstrap import unit_of_work
from storage.write_behind import QueueClosed
from tests.helpers import cpf, record_calls, unique

CALLER = Caller("write-behind", "req")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _product(engine: Engine, stock: int = 10) -> str:
    return products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", stock).id


def _stock(engine: Engine, product_id: str) -> int:
    with unit_of_work(engine) as uow:
        return uow.products.get(product_id).stock_quantity


def test_an_order_sends_its_writes_in_one_round_trip_between_the_lock_and_the_commit(
    one_connection: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = customers.create_customer(unit_of_work(one_connection), "c", cpf(), f"{unique()}@example.com", "", "")
    pid = _product(one_connection)
    sent = record_calls(one_connection, monkeypatch, queries=True)
    orders.create_order(unit_of_work(one_connection), NewOrder(CALLER, customer.id, [OrderLine(pid, 3)], "", "BRL"))
    lock = next(i for i, q in enumerate(sent) if "FOR UPDATE" in q)
    after_lock = sent[lock + 1 :]
    # The order's id is the service's (storage/ids.py), so even the order row waits for the batch.
    assert len(after_lock) == 2 and after_lock[1] == "COMMIT"
    batch = after_lock[0].split(";\n")
    expected = [
        "INSERT INTO orders", "INSERT INTO order_items", "UPDATE products", "INSERT INTO stock_movements",
        "INSERT INTO order_status_history", "INSERT INTO outbox_events",
    ]
    assert len(batch) == len(expected) and all(s.startswith(e) for s, e in zip(batch, expected, strict=True))
    assert _stock(one_connection, pid) == 7


def test_a_failure_late_in_the_batch_rolls_back_the_whole_transaction(engine: Engine) -> None:
    pid = _product(engine)
    with pytest.raises(exc.IntegrityError), unit_of_work(engine) as uow:
        uow.products.lock([pid])
        uow.products.set_stock({pid: Stock(1, 0)}, NOW, {pid: 2})  # sent first in the batch, and succeeds
        uow.history.add(StatusChange("", "999999999", None, OrderStatus.PENDING, "a", "no such order", "r", NOW))
        uow.commit()  # the history row breaks its foreign key in the batch's second statement
    assert _stock(engine, pid) == 10


def test_a_statement_through_sqlalchemy_sees_the_writes_queued_before_it(engine: Engine) -> None:
    pid = _product(engine)
    with unit_of_work(engine) as uow:
        sku = uow.products.get(pid).sku
    with unit_of_work(engine) as uow:
        uow.products.lock([pid])
        uow.products.set_stock({pid: Stock(4, 0)}, NOW, {pid: 2})
        listed = uow.products.list(ProductFilter(sku=sku), Page(10, ""))  # a plain Connection.execute
        assert [p.stock_quantity for p in listed.items] == [4]


def test_writes_of_a_rolled_back_unit_of_work_never_reach_the_next_one(one_connection: Engine) -> None:
    pid = _product(one_connection)
    with pytest.raises(RuntimeError), unit_of_work(one_connection) as uow:
        uow.products.lock([pid])
        uow.products.set_stock({pid: Stock(0, 0)}, NOW, {pid: 2})
        raise RuntimeError("the use case gives up before its commit")
    with unit_of_work(one_connection) as uow:  # the same pooled connection
        uow.commit()
    assert _stock(one_connection, pid) == 10


def test_empty_stock_updates_and_ledger_batches_write_nothing(engine: Engine) -> None:
    product_id = _product(engine, stock=7)
    with unit_of_work(engine) as uow:
        uow.products.lock([product_id])
        uow.products.set_stock({}, NOW, {})
        uow.ledger.add([])
        uow.products.set_stock({product_id: Stock(6, 0)}, NOW, {product_id: 2})  # queued behind the empty ones, and still sent
        uow.commit()
    assert _stock(engine, product_id) == 6
    with unit_of_work(engine) as uow:
        assert len(uow.ledger.list(product_id, Page(10, "")).items) == 1  # the initial stock only


def test_nothing_runs_on_a_unit_of_work_after_its_commit(engine: Engine) -> None:
    pid = _product(engine)
    with unit_of_work(engine) as uow:
        sku = uow.products.get(pid).sku
        uow.commit()
        with pytest.raises(QueueClosed):
            uow.products.get(pid)  # a read
        with pytest.raises(QueueClosed):
            uow.products.list(ProductFilter(sku=sku), Page(10, ""))  # a plain one
        with pytest.raises(QueueClosed):
            uow.products.set_stock({pid: Stock(1, 0)}, NOW, {pid: 2})  # a deferred write
    assert _stock(engine, pid) == 10


@pytest.mark.parametrize("rows", [1, 3])
def test_a_multi_row_write_binds_every_row_with_its_column_types(engine: Engine, rows: int) -> None:
    # One INSERT of n rows, rendered by SQLAlchemy per row count: each row's values in its own
    # parameters, each converted by its column's type (an aware time stored as UTC and read back equal).
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "")
    placed, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, [OrderLine(_product(engine), 1)], "", "BRL"))
    changes = [
        StatusChange("", placed.id, OrderStatus.PENDING, OrderStatus.CONFIRMED, f"actor-{i}", f"reason-{i}", f"req-{i}", NOW.replace(minute=i))
        for i in range(rows)
    ]
    with unit_of_work(engine) as uow:
        uow.history.add_many(changes)
        uow.commit()
    with unit_of_work(engine) as uow:
        stored = uow.history.list(placed.id, Page(10, "")).items[1:]  # after the order's own row
    assert [(c.actor, c.reason, c.request_id, c.create_time, c.to_status) for c in stored] == [
        (c.actor, c.reason, c.request_id, c.create_time, c.to_status) for c in changes
    ]
