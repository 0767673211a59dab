"""The benchmark's invariant check: quiet on consistent seed data, loud on a stock that drifted from the ledger."""

from __future__ import annotations

from sqlalchemy import create_engine, update

from bench import database, invariants
from storage import invariants as stock_invariants
from storage.schema import products
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
