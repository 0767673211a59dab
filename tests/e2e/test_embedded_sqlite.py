"""The embedded default (SQLite) keeps the same invariants: create, cancel, return, and no overselling."""

from __future__ import annotations


import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2
from tests.helpers import Stubs, rich


@pytest.fixture
def stubs(sqlite_channel: grpc.Channel) -> Stubs:
    return Stubs.on(sqlite_channel)


def test_racing_buyers_cannot_oversell_on_sqlite(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=5)
    assert stubs.race(customer.id, product.id, buyers=20) == {"OK": 5, "INSUFFICIENT_STOCK": 15}
    assert stubs.stock(product.id) == 0


def test_cancel_on_sqlite_returns_stock_once(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=2)
    order = stubs.order(customer.id, (product.id, 2))
    stubs.orders.CancelOrder(order_pb2.CancelOrderRequest(id=order.id, reason="test"))
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.CancelOrder(order_pb2.CancelOrderRequest(id=order.id, reason="test"))
    assert rich(caught.value).reason == "INVALID_STATUS_TRANSITION"
    assert stubs.stock(product.id) == 2
    assert [m.delta for m in stubs.movements(product.id)] == [2, -2, 2]


def test_a_return_on_sqlite_restocks_once_and_never_more_than_shipped(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=3)
    order = stubs.order(customer.id, (product.id, 2))
    for status in (order_pb2.ORDER_STATUS_CONFIRMED, order_pb2.ORDER_STATUS_PICKED, order_pb2.ORDER_STATUS_SHIPPED):
        stubs.orders.UpdateOrderStatus(order_pb2.UpdateOrderStatusRequest(id=order.id, status=status))
    item = order_pb2.CreateReturnRequest.Item(product_id=product.id, quantity=2, disposition=order_pb2.RETURN_DISPOSITION_RESTOCK)
    request = order_pb2.CreateReturnRequest(order_id=order.id, items=[item], reason="test")
    stubs.orders.CreateReturn(request)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.CreateReturn(request)
    assert rich(caught.value).reason == "EXCEEDS_SHIPPED_QUANTITY"
    assert stubs.stock(product.id) == 3
    assert [m.delta for m in stubs.movements(product.id)] == [3, -2, -2, 2]
