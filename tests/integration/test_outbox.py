"""The outbox on MariaDB: every write path records its events in its own transaction, numbered per aggregate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from service._gen.erp.orders.v1 import events_pb2, order_pb2
from service.domain.allocation import NewOrder
from service.domain.errors import InsufficientStock, InvalidStatusTransition
from service.domain.model import Caller, IdempotencyKey, OrderLine, OrderStatus
from service.usecases import customers, orders, products
from storage.schema import outbox_events as t
from service.runtime.bootstrap import unit_of_work
from tests.helpers import cpf, unique

CALLER = Caller("outbox-test", "req-outbox")


def _events(engine: Engine, aggregate: str, aggregate_id: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t).where(t.c.aggregate_type == aggregate, t.c.aggregate_id == int(aggregate_id)).order_by(t.c.id)
            )
        )


def _order_events(engine: Engine, order_id: str) -> list[events_pb2.OrderEvent]:
    return [events_pb2.OrderEvent.FromString(r.payload) for r in _events(engine, "order", order_id)]


def _stock_events(engine: Engine, product_id: str) -> list[events_pb2.ProductStockEvent]:
    return [events_pb2.ProductStockEvent.FromString(r.payload) for r in _events(engine, "product", product_id)]


def _customer(engine: Engine) -> str:
    return customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id


def _product(engine: Engine, stock: int) -> str:
    uow = unit_of_work(engine)
    return products.create_product(uow, CALLER, unique("SKU-"), "p", "", Decimal("2.50"), "BRL", stock).id


def test_an_order_s_life_is_numbered_1_2_3_with_the_order_as_it_is_after_each_change(engine: Engine) -> None:
    customer, pid = _customer(engine), _product(engine, 10)
    order, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 3)], "note", "BRL"))
    orders.update_order_status(unit_of_work(engine), CALLER, order.id, OrderStatus.CONFIRMED, "ok")
    orders.update_order_status(unit_of_work(engine), CALLER, order.id, OrderStatus.CONFIRMED, "repeat")  # a no-op
    orders.cancel_order(unit_of_work(engine), CALLER, order.id, "changed mind")

    events = _order_events(engine, order.id)
    assert [(e.sequence, e.type) for e in events] == [
        (1, events_pb2.ORDER_EVENT_TYPE_CREATED),
        (2, events_pb2.ORDER_EVENT_TYPE_STATUS_CHANGED),
        (3, events_pb2.ORDER_EVENT_TYPE_CANCELED),
    ]
    assert [e.order.status for e in events] == [
        order_pb2.ORDER_STATUS_PENDING, order_pb2.ORDER_STATUS_CONFIRMED, order_pb2.ORDER_STATUS_CANCELED,
    ]
    assert [e.id for e in events] == [f"order-{order.id}-{n}" for n in (1, 2, 3)]
    assert all(e.order_id == order.id and e.actor == "outbox-test" and e.request_id == "req-outbox" for e in events)
    assert events[0].order.items[0].quantity == 3 and events[0].order.customer_id == customer
    rows = _events(engine, "order", order.id)
    assert {r.customer_id for r in rows} == {int(customer)} and all(r.publish_time is None for r in rows)


def test_every_stock_change_is_a_product_event_numbered_like_its_ledger(engine: Engine) -> None:
    customer, pid = _customer(engine), _product(engine, 10)
    order, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 4)], "", "BRL"))
    products.adjust_stock(unit_of_work(engine), CALLER, pid, 5, "restock")
    orders.cancel_order(unit_of_work(engine), CALLER, order.id, "")

    events = _stock_events(engine, pid)
    assert [(e.sequence, e.movement.delta, e.movement.stock_after) for e in events] == [
        (1, 10, 10), (2, -4, 6), (3, 5, 11), (4, 4, 15),
    ]
    assert [e.id for e in events] == [f"product-{pid}-{n}" for n in (1, 2, 3, 4)]
    with unit_of_work(engine) as uow:
        assert uow.products.get(pid).stock_sequence == 4


def test_a_refused_change_leaves_no_event(engine: Engine) -> None:
    customer, short, plenty = _customer(engine), _product(engine, 1), _product(engine, 10)
    with pytest.raises(InsufficientStock):
        orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(plenty, 1), OrderLine(short, 2)], "", "BRL"))
    order, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(plenty, 1)], "", "BRL"))
    with pytest.raises(InvalidStatusTransition):
        orders.update_order_status(unit_of_work(engine), CALLER, order.id, OrderStatus.SHIPPED, "skips steps")
    assert [e.sequence for e in _stock_events(engine, plenty)] == [1, 2]  # the initial stock, then the one order
    assert [e.sequence for e in _stock_events(engine, short)] == [1]
    assert [e.sequence for e in _order_events(engine, order.id)] == [1]


def test_a_replayed_create_writes_no_second_event(engine: Engine) -> None:
    customer, pid = _customer(engine), _product(engine, 10)
    key = IdempotencyKey("outbox-test", unique("key-"), "fingerprint")
    first, replayed = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 1)], "", "BRL", key))
    again, replayed = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 1)], "", "BRL", key))
    assert replayed and again.id == first.id
    assert [e.sequence for e in _order_events(engine, first.id)] == [1]
    assert [e.sequence for e in _stock_events(engine, pid)] == [1, 2]


def test_a_batch_of_orders_writes_every_order_s_event_and_numbers_a_shared_product_in_arrival_order(engine: Engine) -> None:
    customer, pid, short = _customer(engine), _product(engine, 5), _product(engine, 1)
    batch = [
        NewOrder(CALLER, customer, [OrderLine(pid, 2)], "", "BRL"),
        NewOrder(CALLER, customer, [OrderLine(short, 2)], "", "BRL"),  # refused: short stock
        NewOrder(CALLER, customer, [OrderLine(pid, 3)], "", "BRL"),
    ]
    outcomes = orders.create_orders(unit_of_work(engine), batch)
    first, second = outcomes[0], outcomes[2]
    assert isinstance(first, tuple) and isinstance(second, tuple) and isinstance(outcomes[1], InsufficientStock)
    for order, _ in (first, second):
        assert [(e.sequence, e.type) for e in _order_events(engine, order.id)] == [(1, events_pb2.ORDER_EVENT_TYPE_CREATED)]
    assert [(e.sequence, e.movement.stock_after) for e in _stock_events(engine, pid)] == [(1, 5), (2, 3), (3, 0)]
    assert [e.sequence for e in _stock_events(engine, short)] == [1]


def test_with_the_outbox_off_changes_commit_and_write_no_event(engine: Engine) -> None:
    customer, pid = _customer(engine), _product(engine, 10)
    quiet = lambda: unit_of_work(engine, events=False)  # noqa: E731  ORDERS_EVENTS_OUTBOX=false
    order, _ = orders.create_order(quiet(), NewOrder(CALLER, customer, [OrderLine(pid, 2)], "", "BRL"))
    orders.cancel_order(quiet(), CALLER, order.id, "")
    products.adjust_stock(quiet(), CALLER, pid, 3, "restock")
    with unit_of_work(engine) as uow:
        assert uow.products.get(pid).stock_quantity == 13 and uow.orders.get(order.id).status is OrderStatus.CANCELED
    assert _order_events(engine, order.id) == []
    assert [e.sequence for e in _stock_events(engine, pid)] == [1]  # only the product's creation, with the outbox on
