"""Revision 0009 (returns) on a database with shipped orders: upgraded, used, downgraded with on hand kept, upgraded again."""

from __future__ import annotations

from decimal import Decimal

from alembic import command
from sqlalchemy import Engine, text

from service.domain.allocation import NewOrder
from service.domain.model import Caller, OrderLine, OrderStatus, ReturnDisposition, ReturnLine
from service.runtime.bootstrap import unit_of_work
from service.usecases import customers, orders, products
from storage import invariants
from storage.migrate import alembic_config, upgrade
from tests.helpers import cpf

CALLER = Caller("migration-test", "r")


def _returned(engine: Engine) -> list[str]:
    """A shipped order of 3 + 2 units, then 2 of the first restocked and 1 of the second scrapped."""
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), "c@example.com", "", "").id
    a, b = (products.create_product(unit_of_work(engine), CALLER, sku, "p", "", Decimal(1), "BRL", 10).id for sku in ("A", "B"))
    order = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(a, 3), OrderLine(b, 2)], "", "BRL"))[0]
    for target in (OrderStatus.CONFIRMED, OrderStatus.PICKED, OrderStatus.SHIPPED):
        orders.update_order_status(unit_of_work(engine), CALLER, order.id, target, "")
    lines = [ReturnLine(a, 2, ReturnDisposition.RESTOCK), ReturnLine(b, 1, ReturnDisposition.SCRAP)]
    orders.create_return(unit_of_work(engine), CALLER, order.id, lines, "wrong size")
    return [a, b]


def _ledger_sums(engine: Engine) -> list[tuple[int, int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(  # type: ignore[misc]
            "SELECT p.id, p.stock_quantity + p.reserved_quantity, "
            "(SELECT SUM(m.delta) FROM stock_movements m WHERE m.product_id = p.id AND m.kind NOT IN (2, 3)) FROM products p ORDER BY p.id"
        ))]


def test_returns_hold_every_invariant_and_a_downgrade_keeps_on_hand_as_the_ledger_sum(migrated: Engine) -> None:
    a, b = _returned(migrated)
    with migrated.connect() as conn:
        assert invariants.violations(conn) == []
        assert conn.execute(text("SELECT kind, delta FROM stock_movements WHERE kind = 7")).all() == [(7, 2)]
    before = _ledger_sums(migrated)
    assert [(str(pid), on_hand) for pid, on_hand, _ in before] == [(a, 10 - 3 + 2), (b, 10 - 2)]
    command.downgrade(alembic_config(migrated), "0008")
    with migrated.connect() as conn:
        tables = {t for (t,) in conn.execute(text("SHOW TABLES"))}
        columns = {c for (c, *_) in conn.execute(text("SHOW COLUMNS FROM order_items"))}
        kinds = conn.execute(text("SELECT kind, delta FROM stock_movements WHERE reason LIKE 'returned:%'")).all()
    assert not {"returns", "return_items"} & tables and "returned_quantity" not in columns
    assert kinds == [(4, 2)] and _ledger_sums(migrated) == before  # the restock is an adjustment now: on hand unchanged
    upgrade(migrated)
    with migrated.connect() as conn:
        assert invariants.violations(conn) == []
        assert conn.execute(text("SELECT SUM(returned_quantity) FROM order_items")).scalar() == 0
