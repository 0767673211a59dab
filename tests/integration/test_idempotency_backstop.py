"""The database backstop on MariaDB: keys compare exactly, and unique violations name the right field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from service.domain.allocation import NewOrder
from service.domain.errors import AlreadyExists
from service.domain.model import Caller, IdempotencyKey, OrderLine, Page
from service.usecases import amendments, customers, orders, products
from service.runtime.bootstrap import unit_of_work
from storage.schema import order_amendments, stock_movements
from tests.helpers import cpf, unique

CALLER = Caller("backstop", "req")


def test_keys_that_differ_only_in_case_are_different_keys(engine: Engine) -> None:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "")
    product = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10)
    lines = [OrderLine(product.id, 1)]
    made = [
        orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, lines, "", "BRL", IdempotencyKey(who, key, "fp")))
        for who, key in (("Alice", "A1"), ("Alice", "a1"), ("alice", "A1"))
    ]
    assert [replayed for _, replayed in made] == [False, False, False]
    assert len({order.id for order, _ in made}) == 3
    again, replayed = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, lines, "", "BRL", IdempotencyKey("Alice", "a1", "fp")))
    assert (again.id, replayed) == (made[1][0].id, True)


def test_keys_and_principals_that_differ_by_a_trailing_space_are_different_keys(engine: Engine) -> None:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "")
    product = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10)
    key = unique("pad-")
    made = [
        orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, [OrderLine(product.id, 1)], "", "BRL", IdempotencyKey(who, k, "fp")))
        for who, k in (("carol", key), ("carol", f"{key} "), ("carol ", key))
    ]
    assert [replayed for _, replayed in made] == [False, False, False]
    assert len({order.id for order, _ in made}) == 3


def _order_of(engine: Engine, units: int) -> tuple[str, str]:
    """A new order of `units` of a new product with 10 in stock: (order id, product id)."""
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "")
    product = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10)
    order, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, [OrderLine(product.id, units)], "", "BRL"))
    return order.id, product.id


def test_an_amendment_replays_from_its_own_row_and_never_applies_twice(engine: Engine) -> None:
    order_id, product_id = _order_of(engine, 1)
    key = IdempotencyKey("backstop", unique("amend-"), "fp")
    first, replayed = amendments.amend_order(unit_of_work(engine), CALLER, order_id, [OrderLine(product_id, 4)], "more", key=key)
    assert not replayed and first.order.version == 2
    amendments.amend_order(unit_of_work(engine), CALLER, order_id, [OrderLine(product_id, 2)], "fewer")
    again, replayed = amendments.amend_order(unit_of_work(engine), CALLER, order_id, [OrderLine(product_id, 4)], "more", key=key)
    assert replayed and (again.order.items[0].quantity, again.order.version) == (2, 3)  # the order as it is now, not set to 4 again
    with unit_of_work(engine) as uow:
        assert [m.delta for m in uow.ledger.list(product_id, Page(10)).items] == [10, -1, -3, 2]
    a, m = order_amendments, stock_movements
    with engine.connect() as conn:
        stored = conn.execute(select(a.c.reason, a.c.idem_key).where(a.c.order_id == int(order_id)).order_by(a.c.id)).all()
        keyed = conn.execute(select(m.c.id).where(m.c.product_id == int(product_id), m.c.idem_key.is_not(None))).all()
    assert [tuple(r) for r in stored] == [("more", key.key), ("fewer", None)] and keyed == []  # the key on its row, none in the ledger


def test_a_keyed_amendment_that_changed_nothing_replays_after_another_changed_the_line(engine: Engine) -> None:
    order_id, product_id = _order_of(engine, 5)
    key = IdempotencyKey("backstop", unique("noop-"), "fp")
    same, replayed = amendments.amend_order(unit_of_work(engine), CALLER, order_id, [OrderLine(product_id, 5)], "as is", key=key)
    assert not replayed and same.order.version == 1
    amendments.amend_order(unit_of_work(engine), CALLER, order_id, [OrderLine(product_id, 3)], "fewer")
    # No Redis here: the retry meets only the database, as after Redis forgot the key.
    again, replayed = amendments.amend_order(unit_of_work(engine), CALLER, order_id, [OrderLine(product_id, 5)], "as is", key=key)
    assert replayed and (again.order.items[0].quantity, again.order.version) == (3, 2)
    with unit_of_work(engine) as uow:
        assert uow.orders.get(order_id).items[0].quantity == 3 and uow.products.get(product_id).stock_quantity == 7


def test_one_key_serves_adjust_stock_and_then_amend_order_each_in_its_own_table(engine: Engine) -> None:
    order_id, product_id = _order_of(engine, 1)
    k = unique("shared-")
    _, _, replayed = products.adjust_stock(unit_of_work(engine), CALLER, product_id, 5, "found", IdempotencyKey("backstop", k, "adjust"))
    amended, replayed_too = amendments.amend_order(
        unit_of_work(engine), CALLER, order_id, [OrderLine(product_id, 4)], "more", key=IdempotencyKey("backstop", k, "amend")
    )
    assert (replayed, replayed_too, amended.order.items[0].quantity) == (False, False, 4)
    with unit_of_work(engine) as uow:
        assert uow.products.get(product_id).stock_quantity == 10 + 5 - 4


def test_a_taken_email_is_reported_as_the_email_even_when_it_mentions_another_field(engine: Engine) -> None:
    email = f"a_document_{unique().lower()}@example.com"
    customers.create_customer(unit_of_work(engine), "c", cpf(), email, "", "")
    with pytest.raises(AlreadyExists) as caught:
        customers.create_customer(unit_of_work(engine), "c", cpf(), email, "", "")
    assert caught.value.field == "email"
