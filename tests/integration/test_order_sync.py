"""Orders by last change and external references on MariaDB: the keyset and the unique-index backstop."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from service.runtime.bootstrap import unit_of_work
from service.domain.allocation import NewOrder
from service.domain.errors import LockContention, ReferenceTaken
from service.domain.model import Caller, OrderLine, Page
from service.domain.ports import OrderFilter, OrderSort
from service.usecases import customers, orders, products
from tests.helpers import cpf, unique

CALLER = Caller("sync", "req")


def _world(engine: Engine) -> tuple[str, str]:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    product = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 100).id
    return customer, product


def _new(customer: str, product: str, reference: str = "") -> NewOrder:
    return NewOrder(CALLER, customer, [OrderLine(product, 1)], "", "BRL", None, reference)


def test_orders_of_one_batch_share_an_update_time_and_each_is_listed_once_across_pages(engine: Engine) -> None:
    customer, product = _world(engine)
    placed = [outcome[0] for outcome in orders.create_orders(unit_of_work(engine), [_new(customer, product) for _ in range(5)])]  # type: ignore[index]
    assert len({order.update_time for order in placed}) == 1
    flt = OrderFilter(customer_id=customer, sort=OrderSort.UPDATE_TIME_ASC)
    seen, page = [], Page(2)
    while True:
        result = orders.list_orders(unit_of_work(engine), flt, page)
        seen += [order.id for order in result.items]
        if result.next_after is None:
            break
        page = Page(2, result.next_after)
    assert seen == sorted((order.id for order in placed), key=int)


def test_the_settle_cutoff_and_update_time_from_bound_the_listing(engine: Engine) -> None:
    customer, product = _world(engine)
    first, _ = orders.create_order(unit_of_work(engine), _new(customer, product))
    second, _ = orders.create_order(unit_of_work(engine), _new(customer, product))

    def listed(**bounds: datetime) -> list[str]:
        flt = OrderFilter(customer_id=customer, sort=OrderSort.UPDATE_TIME_ASC, **bounds)  # type: ignore[arg-type]
        return [o.id for o in orders.list_orders(unit_of_work(engine), flt, Page(10)).items]

    assert listed() == [first.id, second.id]
    assert listed(update_time_before=second.update_time) == [first.id]
    assert listed(update_time_from=second.update_time) == [second.id]
    assert listed(update_time_from=second.update_time + timedelta(microseconds=1)) == []


def test_two_orders_of_one_batch_with_one_new_reference_fail_the_batch_and_the_later_is_refused_alone(engine: Engine) -> None:
    customer, product = _world(engine)
    reference = unique("PO-")
    with pytest.raises(LockContention):  # the unique index on (customer_id, external_reference)
        orders.create_orders(unit_of_work(engine), [_new(customer, product, reference), _new(customer, product, reference)])
    first, _ = orders.create_order(unit_of_work(engine), _new(customer, product, reference))
    with pytest.raises(ReferenceTaken) as caught:
        orders.create_order(unit_of_work(engine), _new(customer, product, reference))
    assert caught.value.order_id == first.id
    assert [o.id for o in orders.list_orders(unit_of_work(engine), OrderFilter(external_reference=reference), Page(10)).items] == [first.id]
    assert products.get_product(unit_of_work(engine), product).stock_quantity == 99
