"""Placing orders against stock, over real gRPC on MariaDB: races, atomicity and merged lines."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2
from tests.helpers import Stubs, outcome, rich


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _orders_of(stubs: Stubs, customer_id: str) -> list[order_pb2.Order]:
    req = order_pb2.ListOrdersRequest(customer_id=customer_id, page_size=1000)
    return list(stubs.orders.ListOrders(req).orders)


def test_fifty_buyers_racing_for_ten_units_get_exactly_ten_orders(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    assert stubs.race(customer.id, product.id, buyers=50) == {"OK": 10, "INSUFFICIENT_STOCK": 40}
    assert stubs.stock(product.id) == 0
    assert len(_orders_of(stubs, customer.id)) == 10
    assert [m.delta for m in stubs.movements(product.id)] == [10] + [-1] * 10


def test_orders_locking_two_products_in_opposite_orders_never_fail_internally(stubs: Stubs) -> None:
    customer, a, b = stubs.customer(), stubs.product(stock=150), stubs.product(stock=150)
    lines = [((a.id, 1), (b.id, 1)), ((b.id, 1), (a.id, 1))]
    with ThreadPoolExecutor(50) as pool:
        outcomes = Counter(pool.map(lambda i: outcome(lambda: stubs.order(customer.id, *lines[i % 2])), range(200)))
    assert outcomes == {"OK": 150, "INSUFFICIENT_STOCK": 50}
    assert stubs.stock(a.id) == stubs.stock(b.id) == 0
    assert len(_orders_of(stubs, customer.id)) == 150
    assert sum(m.delta for m in stubs.movements(a.id)) == sum(m.delta for m in stubs.movements(b.id)) == 0


def test_an_order_with_one_short_line_changes_nothing(stubs: Stubs) -> None:
    customer = stubs.customer()
    a, b, c = stubs.product(stock=5), stubs.product(stock=5), stubs.product(stock=1)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.order(customer.id, (a.id, 2), (b.id, 2), (c.id, 3))
    error = rich(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK")
    assert error.precondition_subjects == [f"products/{c.id}"]
    assert "requested 3, available 1" in error.message
    assert [stubs.stock(p.id) for p in (a, b, c)] == [5, 5, 1]
    assert [len(stubs.movements(p.id)) for p in (a, b, c)] == [1, 1, 1]
    assert _orders_of(stubs, customer.id) == []


def test_lines_of_the_same_product_are_merged_before_the_stock_check(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1000)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.order(customer.id, (product.id, 600), (product.id, 600))
    assert rich(caught.value).reason == "INSUFFICIENT_STOCK"
    assert "requested 1200, available 1000" in rich(caught.value).message
    assert stubs.stock(product.id) == 1000

    order = stubs.order(customer.id, (product.id, 400), (product.id, 600))
    assert [(i.product_id, i.quantity) for i in order.items] == [(product.id, 1000)]
    assert stubs.stock(product.id) == 0


def test_an_order_snapshots_prices_and_totals_exactly(stubs: Stubs) -> None:
    customer = stubs.customer()
    a, b = stubs.product(stock=10, price="19.99"), stubs.product(stock=10, price="0.10")
    order = stubs.order(customer.id, (a.id, 3), (b.id, 7))
    assert order.status == order_pb2.ORDER_STATUS_PENDING
    assert [(i.sku, i.subtotal.units, i.subtotal.nanos) for i in order.items] == [
        (a.sku, 59, 970_000_000), (b.sku, 0, 700_000_000),
    ]
    assert (order.total.units, order.total.nanos, order.total.currency_code) == (60, 670_000_000, "BRL")
    assert stubs.orders.GetOrder(order_pb2.GetOrderRequest(id=order.id)) == order
