"""An order's life after it is placed, on MariaDB: status moves, history, cancellation returning stock once
(also under concurrency), and lists by status. Refused moves are tested in tests/unit/test_api_lifecycle.py."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2 as pb
from tests.helpers import Stubs, outcome, rich

S = pb.OrderStatus


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _move(stubs: Stubs, order_id: str, status: int, reason: str = "") -> pb.Order:
    return stubs.orders.UpdateOrderStatus(pb.UpdateOrderStatusRequest(id=order_id, status=status, reason=reason))


def _cancel(stubs: Stubs, order_id: str) -> pb.Order:
    return stubs.orders.CancelOrder(pb.CancelOrderRequest(id=order_id, reason="customer changed mind"))


def test_each_real_transition_appends_exactly_one_history_row(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=3)
    order = stubs.order(customer.id, (product.id, 1))
    for status in (S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PICKED, S.ORDER_STATUS_SHIPPED, S.ORDER_STATUS_DELIVERED):
        assert _move(stubs, order.id, status, f"to {S.Name(status)}").status == status
    history = stubs.history(order.id)
    assert [(h.from_status, h.to_status) for h in history] == [
        (S.ORDER_STATUS_UNSPECIFIED, S.ORDER_STATUS_PENDING),
        (S.ORDER_STATUS_PENDING, S.ORDER_STATUS_CONFIRMED),
        (S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PICKED),
        (S.ORDER_STATUS_PICKED, S.ORDER_STATUS_SHIPPED),
        (S.ORDER_STATUS_SHIPPED, S.ORDER_STATUS_DELIVERED),
    ]
    assert history[2].reason == "to ORDER_STATUS_PICKED"
    assert {h.actor for h in history} == {"tester"}
    assert all(h.request_id and h.create_time.seconds for h in history)


def test_cancel_returns_stock_once_and_a_second_cancel_changes_nothing(stubs: Stubs) -> None:
    customer, a, b = stubs.customer(), stubs.product(stock=5), stubs.product(stock=5)
    order = stubs.order(customer.id, (a.id, 2), (b.id, 3))
    _move(stubs, order.id, S.ORDER_STATUS_CONFIRMED)
    assert _cancel(stubs, order.id).status == S.ORDER_STATUS_CANCELED
    assert (stubs.stock(a.id), stubs.stock(b.id)) == (5, 5)
    with pytest.raises(grpc.RpcError) as caught:
        _cancel(stubs, order.id)
    assert rich(caught.value).reason == "INVALID_STATUS_TRANSITION"
    assert (stubs.stock(a.id), stubs.stock(b.id)) == (5, 5)
    assert [m.delta for m in stubs.movements(a.id)] == [5, -2, 2]
    assert [h.to_status for h in stubs.history(order.id)][-1] == S.ORDER_STATUS_CANCELED
    assert len(stubs.history(order.id)) == 3


def test_ten_concurrent_cancels_return_the_stock_exactly_once(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=4)
    order = stubs.order(customer.id, (product.id, 4))

    with ThreadPoolExecutor(10) as pool:
        outcomes = Counter(pool.map(lambda _: outcome(lambda: _cancel(stubs, order.id)), range(10)))
    assert outcomes == {"OK": 1, "INVALID_STATUS_TRANSITION": 9}
    assert stubs.stock(product.id) == 4
    assert [m.delta for m in stubs.movements(product.id)] == [4, -4, 4]


def test_a_picked_order_can_be_canceled_but_a_shipped_one_has_nothing_open(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=4)
    picked, shipped = stubs.order(customer.id, (product.id, 2)), stubs.order(customer.id, (product.id, 2))
    for order in (picked, shipped):
        _move(stubs, order.id, S.ORDER_STATUS_CONFIRMED)
        _move(stubs, order.id, S.ORDER_STATUS_PICKED)
    _move(stubs, shipped.id, S.ORDER_STATUS_SHIPPED)
    assert _cancel(stubs, picked.id).status == S.ORDER_STATUS_CANCELED
    with pytest.raises(grpc.RpcError) as caught:
        _cancel(stubs, shipped.id)
    assert rich(caught.value).metadata == {"order_id": shipped.id, "current_status": "SHIPPED", "target_status": "CANCELED"}
    assert stubs.stock(product.id) == 2  # the canceled order's units are available again; the shipped ones left


def test_orders_are_listed_by_any_of_several_statuses_over_pages(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=20)
    placed = [stubs.order(customer.id, (product.id, 1)).id for _ in range(5)]
    pending, confirmed, picked, canceled = placed[:2], placed[2:3], placed[3:4], placed[4:]
    for order_id in confirmed + picked:
        _move(stubs, order_id, S.ORDER_STATUS_CONFIRMED)
    _move(stubs, picked[0], S.ORDER_STATUS_PICKED)
    _cancel(stubs, canceled[0])

    def listed(**filters: object) -> list[str]:
        ids, token = [], ""
        while True:
            page = stubs.orders.ListOrders(pb.ListOrdersRequest(customer_id=customer.id, page_size=2, page_token=token, **filters))
            ids += [o.id for o in page.orders]
            if not (token := page.next_page_token):
                return ids

    open_statuses = [S.ORDER_STATUS_PENDING, S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PICKED]
    assert sorted(listed(statuses=open_statuses)) == sorted(pending + confirmed + picked)
    assert listed(statuses=[S.ORDER_STATUS_CANCELED]) == canceled
    assert sorted(listed(status=S.ORDER_STATUS_PENDING)) == sorted(pending)  # the single filter still works
    with pytest.raises(grpc.RpcError) as both:
        listed(status=S.ORDER_STATUS_PENDING, statuses=[S.ORDER_STATUS_PICKED])
    assert both.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich(both.value).field_violations == {"": "list_orders.one_status_filter"}
