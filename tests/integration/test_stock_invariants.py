"""Reservations, shipments, returns, cancels and adjustments racing on a real MariaDB keep every stock invariant (storage/invariants.py)."""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import Engine, exc, update

from service.runtime.bootstrap import unit_of_work
from service.domain.allocation import NewOrder
from service.domain.errors import FailedPrecondition
from service.domain.model import Caller, IdempotencyKey, OrderLine, OrderStatus, ReturnDisposition, ReturnLine
from service.usecases import amendments, customers, orders, products
from service.usecases.retry import RetryPolicy
from service.usecases.runner import Runner
from storage import invariants
from storage.schema import order_items
from storage.schema import orders as order_rows
from storage.schema import products as product_rows
from tests.helpers import cpf, record_calls, unique

CALLER = Caller("stock-test", "r")


def test_orders_shipped_returned_canceled_and_adjusted_concurrently_keep_every_invariant(engine: Engine) -> None:
    run = Runner(lambda: unit_of_work(engine), RetryPolicy(20, 0.005))
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pids = [products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal(1), "BRL", 40).id for _ in range(4)]
    placed = [
        run(orders.create_order, NewOrder(CALLER, customer, [OrderLine(p, 2) for p in random.Random(i).sample(pids, 2)], "", "BRL"))[0].id
        for i in range(24)
    ]

    returned: list[str] = []

    def step(i: int) -> None:
        r = random.Random(i)
        order_id = r.choice(placed)
        try:
            if i % 4 == 0:
                run(orders.cancel_order, CALLER, order_id, "race")
            elif i % 4 == 1:
                for target in (OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.SHIPPED):
                    run(orders.update_order_status, CALLER, order_id, target, "race")
            elif i % 4 == 2:
                run(products.adjust_stock, CALLER, r.choice(pids), r.choice([-5, -2, 3]), "race")
            else:
                product_id = r.choice(orders.get_order(unit_of_work(engine), order_id).items).product_id
                line = ReturnLine(product_id, 1, r.choice(list(ReturnDisposition)))
                returned.append(run(orders.create_return, CALLER, order_id, [line], "race")[0].id)
        except FailedPrecondition:
            pass  # a canceled order cannot ship, a shipped one cannot be canceled, an adjustment cannot undercut, nor a return exceed what shipped

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(step, range(96)))
    with engine.connect() as conn:
        assert invariants.violations(conn, pids) == []
    statuses = {orders.get_order(unit_of_work(engine), oid).status for oid in placed}
    assert {OrderStatus.SHIPPED, OrderStatus.CANCELED} <= statuses and returned


def test_a_reservation_out_of_step_with_the_open_lines_and_the_ledger_is_reported(engine: Engine) -> None:
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal(1), "BRL", 5).id
    with engine.begin() as conn:
        conn.execute(update(product_rows).where(product_rows.c.id == int(pid)).values(reserved_quantity=2))
        assert invariants.violations(conn, [pid]) == [
            f"product {pid}: reserved 2 != open units 0", f"product {pid}: on hand 7 != the ledger's on-hand rows 5"
        ]
        conn.rollback()


def test_amendments_racing_orders_shipments_cancels_and_adjustments_keep_every_invariant(engine: Engine) -> None:
    run = Runner(lambda: unit_of_work(engine), RetryPolicy(20, 0.005))
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pids = [products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal(i + 1), "BRL", 30).id for i in range(4)]
    placed = [
        run(orders.create_order, NewOrder(CALLER, customer, [OrderLine(p, 2) for p in random.Random(i).sample(pids, 2)], "", "BRL"))[0].id
        for i in range(16)
    ]
    for order_id in placed[::2]:
        run(orders.update_order_status, CALLER, order_id, OrderStatus.CONFIRMED, "")

    def step(i: int) -> str:
        r = random.Random(i)
        order_id = r.choice(placed)
        entries = [OrderLine(p, r.randint(0, 5)) for p in r.sample(pids, 2)]
        try:
            if i % 5 == 0:
                run(orders.cancel_order, CALLER, order_id, "race")
            elif i % 5 == 1:
                run(orders.create_shipment, CALLER, order_id, [OrderLine(run(orders.get_order, order_id).items[0].product_id, 1)], "", "")
            elif i % 5 == 2:
                run(products.adjust_stock, CALLER, r.choice(pids), r.choice([-3, 4]), "race")
            elif i % 5 == 3:
                run(orders.create_order, NewOrder(CALLER, customer, [OrderLine(r.choice(pids), 3)], "", "BRL"))
            else:
                run(amendments.amend_order, CALLER, order_id, entries, "race")
                return "amended"
        except FailedPrecondition:
            pass  # not amendable or shippable any more, short of stock, or an amendment that would empty the order
        return ""

    with ThreadPoolExecutor(8) as pool:
        assert "amended" in list(pool.map(step, range(100)))
    with engine.connect() as conn:
        assert invariants.violations(conn, pids) == []


def test_an_order_total_out_of_step_with_its_lines_is_reported(engine: Engine) -> None:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("2.50"), "BRL", 5).id
    order = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 2)], "", "BRL"))[0]
    amendments.amend_order(unit_of_work(engine), CALLER, order.id, [OrderLine(pid, 3)], "one more")
    with engine.begin() as conn:
        assert invariants.violations(conn, [pid]) == []
        conn.execute(update(order_rows).where(order_rows.c.id == int(order.id)).values(total_cents=500))
        assert invariants.violations(conn, [pid]) == [f"order {order.id}: total 500 cents != its lines' 750"]
        conn.rollback()


def test_an_order_locked_after_an_earlier_plain_read_sees_its_items_as_last_committed(engine: Engine) -> None:
    # Found by the fault harness: a retried shipment looked its key up (a plain read, which fixes
    # the REPEATABLE READ snapshot), then waited for the order's lock, and read the items from
    # before the shipment that held the lock: one shipment's units were lost from its line.
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal(1), "BRL", 5).id
    order = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 3)], "", "BRL"))[0]
    orders.update_order_status(unit_of_work(engine), CALLER, order.id, OrderStatus.CONFIRMED, "")
    with unit_of_work(engine) as uow:
        assert uow.shipments.find_by_key(IdempotencyKey("stock-test", unique(), "fp")) is None  # the snapshot
        orders.create_shipment(unit_of_work(engine), CALLER, order.id, [OrderLine(pid, 1)], "", "")
        assert uow.orders.lock(order.id).items[0].shipped_quantity == 1


def _returned_order(engine: Engine) -> tuple[str, str]:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal(1), "BRL", 5).id
    order = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 3)], "", "BRL"))[0]
    for target in (OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.SHIPPED):
        orders.update_order_status(unit_of_work(engine), CALLER, order.id, target, "")
    orders.create_return(unit_of_work(engine), CALLER, order.id, [ReturnLine(pid, 1, ReturnDisposition.RESTOCK)], "broken")
    return order.id, pid


def test_returned_units_its_returns_do_not_hold_and_a_restock_the_product_lost_are_reported(engine: Engine) -> None:
    order_id, pid = _returned_order(engine)
    with engine.connect() as conn:
        assert invariants.violations(conn, [pid]) == []
    with engine.begin() as conn:
        line = (order_items.c.order_id == int(order_id)) & (order_items.c.product_id == int(pid))
        conn.execute(update(order_items).where(line).values(returned_quantity=2))
        conn.execute(update(product_rows).where(product_rows.c.id == int(pid)).values(stock_quantity=product_rows.c.stock_quantity - 1))
        assert invariants.violations(conn, [pid]) == [
            f"product {pid}: on hand 2 != the ledger's on-hand rows 3",
            f"product {pid}: available 2 != the ledger's rows but shipments 3",
            f"order {order_id} product {pid}: returned 2 != its returns' 1",
        ]
        conn.rollback()


def test_the_database_refuses_more_returned_units_than_shipped(engine: Engine) -> None:
    order_id, pid = _returned_order(engine)
    line = (order_items.c.order_id == int(order_id)) & (order_items.c.product_id == int(pid))
    with pytest.raises(exc.DBAPIError), engine.begin() as conn:
        conn.execute(update(order_items).where(line).values(returned_quantity=4))  # shipped 3


def test_a_return_locks_every_returned_product_scrapped_ones_too_in_one_ascending_statement(
    engine: Engine, one_connection: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SCRAP line moves no stock, but its return item's foreign key takes a shared lock on the
    # product at the commit: unlocked before, that lock came after the restocked products', out of
    # the order storage/locks.py documents (a deadlock against a batch holding the scrapped product).
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    low, high = (products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal(1), "BRL", 5).id for _ in range(2))
    order = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(low, 1), OrderLine(high, 1)], "", "BRL"))[0]
    for target in (OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.SHIPPED):
        orders.update_order_status(unit_of_work(engine), CALLER, order.id, target, "")
    sent = record_calls(one_connection, monkeypatch, queries=True)
    lines = [ReturnLine(high, 1, ReturnDisposition.RESTOCK), ReturnLine(low, 1, ReturnDisposition.SCRAP)]
    orders.create_return(unit_of_work(one_connection), CALLER, order.id, lines, "lock order")
    locks = [q for q in sent if "FOR UPDATE" in q and "FROM products" in q]
    assert len(locks) == 1
    assert re.findall(r"\d+", locks[0].split("WHERE", 1)[1].split("ORDER BY", 1)[0]) == sorted([low, high], key=int)


def test_a_shipped_order_with_units_still_open_is_reported(engine: Engine) -> None:
    # Every unit of a SHIPPED order was shipped or canceled: nothing may be left open there.
    order_id, pid = _returned_order(engine)
    with engine.begin() as conn:
        line = (order_items.c.order_id == int(order_id)) & (order_items.c.product_id == int(pid))
        conn.execute(update(order_items).where(line).values(quantity=order_items.c.quantity + 1))
        assert f"order {order_id} product {pid}: 1 units open in a SHIPPED order" in invariants.violations(conn, [pid])
        conn.rollback()


def test_a_line_whose_reservation_the_ledger_does_not_hold_and_a_reservation_without_a_line_are_reported(engine: Engine) -> None:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal(1), "BRL", 9).id
    order = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 2)], "", "BRL"))[0]
    amendments.amend_order(unit_of_work(engine), CALLER, order.id, [OrderLine(pid, 3)], "more")  # an ORDER row of 1 more
    with engine.connect() as conn:
        assert invariants.violations(conn, [pid]) == []
    line = (order_items.c.order_id == int(order.id)) & (order_items.c.product_id == int(pid))
    with engine.begin() as conn:
        conn.execute(update(order_items).where(line).values(quantity=4))
        assert f"order {order.id} product {pid}: the ledger holds 3 units for a line of 4 not canceled" in invariants.violations(conn, [pid])
        conn.rollback()
    with engine.begin() as conn:
        conn.execute(order_items.delete().where(line))
        assert f"order {order.id} product {pid}: the ledger holds 3 units for no line" in invariants.violations(conn, [pid])
        conn.rollback()
