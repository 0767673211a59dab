"""Revision 0007 on a database filled by revision 0006: reservations, shipments and versions restated, every invariant holding."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, text

from service.runtime.bootstrap import engine as make_engine
from service.settings import Settings
from storage import invariants
from storage.migrate import alembic_config, upgrade
from tests.conftest import fresh_database

# (status, [(product, quantity)]) per order; product 1 starts with 20 units, product 2 with 10.
ORDERS = [(1, [(1, 2)]), (2, [(1, 3), (2, 1)]), (3, [(2, 4)]), (4, [(1, 5)]), (5, [(1, 1), (2, 2)]), (6, [(2, 3)])]
PATHS = {1: [1], 2: [1, 2], 3: [1, 2, 3], 4: [1, 2, 3, 4], 5: [1, 2, 3, 4, 5], 6: [1, 6]}


@pytest.fixture
def at_0006() -> Iterator[Engine]:
    with fresh_database() as url:
        engine = make_engine(Settings(database_url=url), pool_size=1)
        upgrade(engine, "0006")
        try:
            yield engine
        finally:
            engine.dispose()


def _fill(engine: Engine) -> None:
    """What revision 0006's service would have written: stock taken by every order not canceled."""
    initial = {1: 20, 2: 10}
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO customers (id, name, document, email, phone, address, active, create_time, update_time) "
            "VALUES (1, 'c', '1', 'c@example.com', '', '', 1, NOW(), NOW())"
        ))
        for pid, qty in initial.items():
            conn.execute(text(
                "INSERT INTO products (id, sku, name, description, price_cents, currency, stock_quantity, active, create_time, update_time, stock_sequence) "
                "VALUES (:id, :sku, 'p', '', 100, 'BRL', 0, 1, NOW(), NOW(), 0)"
            ), {"id": pid, "sku": f"SKU-{pid}"})
            _ledger(conn, pid, 1, qty, None)
        for oid, (status, lines) in enumerate(ORDERS, start=1):
            conn.execute(text(
                "INSERT INTO orders (id, customer_id, status, currency, total_cents, note, create_time, update_time) "
                "VALUES (:id, 1, :status, 'BRL', :total, '', NOW(), NOW())"
            ), {"id": oid, "status": status, "total": 100 * sum(qty for _, qty in lines)})  # every unit at 1.00
            for line, (pid, qty) in enumerate(lines):
                conn.execute(text(
                    "INSERT INTO order_items (order_id, product_id, line, sku, quantity, unit_price_cents) "
                    "VALUES (:o, :p, :line, 'S', :q, 100)"
                ), {"o": oid, "p": pid, "line": line, "q": qty})
                _ledger(conn, pid, 2, -qty, oid)
                if status == 6:
                    _ledger(conn, pid, 3, qty, oid)
            for frm, to in zip([None, *PATHS[status]], PATHS[status], strict=False):
                conn.execute(text(
                    "INSERT INTO order_status_history (order_id, from_status, to_status, actor, reason, request_id, create_time) "
                    "VALUES (:o, :f, :t, 'a', '', '', NOW())"
                ), {"o": oid, "f": frm, "t": to})
        for pid in initial:
            conn.execute(text(
                "UPDATE products SET stock_quantity = (SELECT SUM(delta) FROM stock_movements WHERE product_id = :p), "
                "stock_sequence = (SELECT COUNT(*) FROM stock_movements WHERE product_id = :p) WHERE id = :p"
            ), {"p": pid})


def _ledger(conn: Connection, pid: int, kind: int, delta: int, order_id: int | None) -> None:
    conn.execute(text(
        "INSERT INTO stock_movements (product_id, kind, delta, stock_after, order_id, reason, actor, request_id, create_time) "
        "VALUES (:p, :k, :d, 0, :o, '', 'a', '', NOW())"
    ), {"p": pid, "k": kind, "d": delta, "o": order_id})


def test_the_migration_restates_reservations_shipments_and_versions_and_every_invariant_holds(at_0006: Engine) -> None:
    _fill(at_0006)
    with at_0006.connect() as conn:
        available_before = dict(conn.execute(text("SELECT id, stock_quantity FROM products")).all())
    upgrade(at_0006)
    with at_0006.connect() as conn:
        figures = {pid: (a, r) for pid, a, r in conn.execute(text("SELECT id, stock_quantity, reserved_quantity FROM products"))}
        lines = {
            (o, p): (s, c)
            for o, p, s, c in conn.execute(text("SELECT order_id, product_id, shipped_quantity, canceled_quantity FROM order_items"))
        }
        shipments = conn.execute(text("SELECT order_id, state, deliver_time IS NOT NULL FROM shipments ORDER BY order_id")).all()
        versions = dict(conn.execute(text("SELECT id, version FROM orders")).all())
        found = invariants.violations(conn)
    # Reserved: the open orders 1-3 (product 1: 2 + 3, product 2: 1 + 4); available unchanged; on hand = both.
    assert figures == {1: (available_before[1], 5), 2: (available_before[2], 5)}
    assert (figures[1][0] + figures[1][1], figures[2][0] + figures[2][1]) == (20 - 5 - 1, 10 - 2)  # less what shipped
    assert lines[(4, 1)] == (5, 0) and lines[(5, 2)] == (2, 0) and lines[(6, 2)] == (0, 3) and lines[(1, 1)] == (0, 0)
    assert shipments == [(4, 1, 0), (5, 2, 1)]
    assert versions == {oid: len(PATHS[status]) for oid, (status, _) in enumerate(ORDERS, start=1)}
    assert found == []


def test_the_migration_downgrades_to_one_stock_figure_and_upgrades_again(at_0006: Engine) -> None:
    _fill(at_0006)
    with at_0006.connect() as conn:
        before = conn.execute(text("SELECT id, stock_quantity, stock_sequence FROM products ORDER BY id")).all()
    upgrade(at_0006)
    command.downgrade(alembic_config(at_0006), "0006")
    with at_0006.connect() as conn:
        assert conn.execute(text("SELECT id, stock_quantity, stock_sequence FROM products ORDER BY id")).all() == before
    upgrade(at_0006)
    with at_0006.connect() as conn:
        assert invariants.violations(conn) == []
