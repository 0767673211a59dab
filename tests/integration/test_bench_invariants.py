"""The benchmark's invariant check (quiet on consistent seed data, loud on a stock that drifted from
the ledger), and the batched ceiling keeping them on either server."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select, update

from bench import ceiling, database, invariants
from storage import invariants as stock_invariants
from storage.schema import order_items, products
from tests.conftest import MYSQL_URL


def test_seeded_orders_keep_every_invariant_and_a_drifted_stock_is_reported() -> None:
    with database.private_database(MYSQL_URL, "test") as url:
        engine = create_engine(url)
        try:
            catalogue = database.seed_catalogue(engine, n_customers=3, n_products=5)
            assert database.top_up_orders(engine, catalogue, 120) == 120
            assert invariants.violations(engine, "db") == []
            with engine.connect() as conn:
                assert stock_invariants.violations(conn) == []  # the seed reserves what its open orders hold
            with engine.begin() as conn:
                conn.execute(update(products).where(products.c.id == catalogue.products[2]).values(stock_quantity=products.c.stock_quantity + 1))
            found = invariants.violations(engine, "db")
        finally:
            engine.dispose()
    assert len(found) == 1
    # The schema's CHECK already refuses a negative stock, so the drift tested here is a lost decrement.
    assert f"product {catalogue.products[2]}: initial+adjustments" in found[0] and "ledger sum" in found[0]




def test_the_batched_ceiling_runs_on_either_server_and_keeps_each_orders_items() -> None:
    # It used to derive order ids from LAST_INSERT_ID() and so refused MySQL's default
    # innodb_autoinc_lock_mode=2; its ids are now the service's, whatever the mode.
    with database.private_database(MYSQL_URL, "test") as url:
        engine = create_engine(url)
        try:
            catalogue = database.seed_catalogue(engine, n_customers=3, n_products=6)
            ceiling.run(ceiling.CeilingSpec(
                connect=database.mysqldb_args(url), threads=4, warmup_s=0, duration_s=2,
                customers=catalogue.customers, products=catalogue.products, items=2, per_tx=5, max_calls=100,
            ))
            with engine.connect() as conn:
                items_per_order = conn.execute(select(order_items.c.order_id, func.count()).group_by(order_items.c.order_id)).all()
            placed = database.count_orders(engine)
            assert invariants.violations(engine, "db") == []
        finally:
            engine.dispose()
    assert placed > 0 and placed % 5 == 0
    assert len(items_per_order) == placed and {n for _, n in items_per_order} == {2}
