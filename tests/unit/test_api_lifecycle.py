"""Status moves the rules refuse, as the API answers them: the code, the reason with the current and
target status, and nothing written (tests/unit/api.py). Moves and cancels on MariaDB: tests/e2e/test_lifecycle.py."""

from __future__ import annotations

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2 as pb
from tests.helpers import Stubs, rich

S = pb.OrderStatus


def _move(stubs: Stubs, order_id: str, status: int, reason: str = "") -> pb.Order:
    return stubs.orders.UpdateOrderStatus(pb.UpdateOrderStatusRequest(id=order_id, status=status, reason=reason))


def _cancel(stubs: Stubs, order_id: str) -> pb.Order:
    return stubs.orders.CancelOrder(pb.CancelOrderRequest(id=order_id, reason="customer changed mind"))


@pytest.fixture
def order(stubs: Stubs) -> pb.Order:
    return stubs.order(stubs.customer().id, (stubs.product(stock=3).id, 1))


def test_invalid_transitions_fail_and_append_nothing(stubs: Stubs, order: pb.Order) -> None:
    for target in (S.ORDER_STATUS_PICKED, S.ORDER_STATUS_SHIPPED, S.ORDER_STATUS_DELIVERED):
        with pytest.raises(grpc.RpcError) as caught:
            _move(stubs, order.id, target)
        error = rich(caught.value)
        assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STATUS_TRANSITION")
        assert error.metadata["current_status"] == "PENDING"
    assert len(stubs.history(order.id)) == 1
    assert stubs.orders.GetOrder(pb.GetOrderRequest(id=order.id)).status == S.ORDER_STATUS_PENDING


def test_repeating_the_current_status_is_a_no_op(stubs: Stubs, order: pb.Order) -> None:
    confirmed = _move(stubs, order.id, S.ORDER_STATUS_CONFIRMED)
    assert _move(stubs, order.id, S.ORDER_STATUS_CONFIRMED) == confirmed
    assert len(stubs.history(order.id)) == 2


def test_update_status_refuses_canceled_so_that_cancel_always_returns_stock(stubs: Stubs, order: pb.Order) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _move(stubs, order.id, S.ORDER_STATUS_CANCELED)
    assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {"status": "enum.not_in"})
    assert stubs.stock(order.items[0].product_id) == 2


def test_a_second_cancel_is_an_invalid_transition_and_returns_nothing_again(stubs: Stubs, order: pb.Order) -> None:
    assert _cancel(stubs, order.id).status == S.ORDER_STATUS_CANCELED
    with pytest.raises(grpc.RpcError) as caught:
        _cancel(stubs, order.id)
    assert (rich(caught.value).code, rich(caught.value).reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_STATUS_TRANSITION")
    assert [m.delta for m in stubs.movements(order.items[0].product_id)] == [3, -1, 1]


def test_a_picked_order_cancels_what_is_open_and_a_shipped_one_has_nothing_left_to_cancel(stubs: Stubs, order: pb.Order) -> None:
    product_id = order.items[0].product_id
    _move(stubs, order.id, S.ORDER_STATUS_CONFIRMED)
    _move(stubs, order.id, S.ORDER_STATUS_PICKED)
    canceled = _cancel(stubs, order.id)
    assert canceled.status == S.ORDER_STATUS_CANCELED and canceled.items[0].canceled_quantity == canceled.items[0].quantity
    assert stubs.stock(product_id) == 3  # the reservation released: available as before the order
    shipped = stubs.order(stubs.customer().id, (product_id, 1))
    for target in (S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PICKED, S.ORDER_STATUS_SHIPPED):
        _move(stubs, shipped.id, target)
    with pytest.raises(grpc.RpcError) as caught:
        _cancel(stubs, shipped.id)
    assert rich(caught.value).metadata == {"order_id": shipped.id, "current_status": "SHIPPED", "target_status": "CANCELED"}
