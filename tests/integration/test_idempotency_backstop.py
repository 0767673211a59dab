"""The database backstop on MariaDB: keys compare exactly, and unique violations name the right field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from service.domain.allocation import NewOrder
from service.domain.errors import AlreadyExists
from service.domain.model import Caller, IdempotencyKey, OrderLine, Page
from service.usecases import amendments, customers, orders, products
from service.runtime.bootstrap import unit_of_work
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


def test_an_amendment_replays_from_its_ledger_row_and_never_applies_twice(engine: Engine) -> None:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "")
    product = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10)
    order, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, [OrderLine(product.id, 1)], "", "BRL"))
    key = IdempotencyKey("backstop", unique("amend-"), "fp")
    first, replayed = amendments.amend_order(unit_of_work(engine), CALLER, order.id, [OrderLine(product.id, 4)], "more", key=key)
    assert not replayed and first.order.version == 2
    amendments.amend_order(unit_of_work(engine), CALLER, order.id, [OrderLine(product.id, 2)], "fewer")
    again, replayed = amendments.amend_order(unit_of_work(engine), CALLER, order.id, [OrderLine(product.id, 4)], "more", key=key)
    assert replayed and (again.order.items[0].quantity, again.order.version) == (2, 3)  # the order as it is now, not set to 4 again
    with unit_of_work(engine) as uow:
        assert [m.delta for m in uow.ledger.list(product.id, Page(10)).items] == [10, -1, -3, 2]


def test_a_taken_email_is_reported_as_the_email_even_when_it_mentions_another_field(engine: Engine) -> None:
    email = f"a_document_{unique().lower()}@example.com"
    customers.create_customer(unit_of_work(engine), "c", cpf(), email, "", "")
    with pytest.raises(AlreadyExists) as caught:
        customers.create_customer(unit_of_work(engine), "c", cpf(), email, "", "")
    assert caught.value.field == "email"
