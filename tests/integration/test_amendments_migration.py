"""Revision 0010 (order_amendments) on a database with amended orders: upgraded, used, downgraded, upgraded again."""

from __future__ import annotations

from decimal import Decimal

from alembic import command
from sqlalchemy import Engine, text

from service.domain.allocation import NewOrder
from service.domain.model import Caller, IdempotencyKey, OrderLine
from service.runtime.bootstrap import unit_of_work
from service.usecases import amendments, customers, orders, products
from storage import invariants
from storage.migrate import alembic_config, upgrade
from tests.helpers import cpf

CALLER = Caller("migration-test", "r")


def _amended(engine: Engine) -> tuple[str, str]:
    """An order of 2 units raised to 3 with a key, then lowered to 1 without one: (order id, product id)."""
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), "c@example.com", "", "").id
    product = products.create_product(unit_of_work(engine), CALLER, "A", "p", "", Decimal(1), "BRL", 10).id
    order = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(product, 2)], "", "BRL"))[0]
    amendments.amend_order(unit_of_work(engine), CALLER, order.id, [OrderLine(product, 3)], "more", key=IdempotencyKey("p", "k1", "fp"))
    amendments.amend_order(unit_of_work(engine), CALLER, order.id, [OrderLine(product, 1)], "fewer")
    return order.id, product


def test_amendments_keep_their_keys_in_their_table_and_a_downgrade_drops_only_it(migrated: Engine) -> None:
    order_id, _ = _amended(migrated)
    with migrated.connect() as conn:
        assert invariants.violations(conn) == []
        stored = conn.execute(text("SELECT order_id, reason, idem_key FROM order_amendments ORDER BY id")).all()
        assert [(str(o), r, k) for o, r, k in stored] == [(order_id, "more", b"k1"), (order_id, "fewer", None)]
        ledger = conn.execute(text("SELECT kind, delta, idem_key FROM stock_movements ORDER BY id")).all()
    assert ledger == [(1, 10, None), (2, -2, None), (2, -1, None), (3, 2, None)]  # the ledger carries no amendment key
    command.downgrade(alembic_config(migrated), "0009")
    with migrated.connect() as conn:
        assert "order_amendments" not in {t for (t,) in conn.execute(text("SHOW TABLES"))}
        assert conn.execute(text("SELECT kind, delta, idem_key FROM stock_movements ORDER BY id")).all() == ledger
        assert invariants.violations(conn) == []
    upgrade(migrated)
    with migrated.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM order_amendments")).scalar() == 0
        assert invariants.violations(conn) == []
