"""AmendOrder as the API answers it (tests/unit/api.py): the response, and each refusal's code, reason
and details. On MariaDB, over gRPC and REST, with races: tests/e2e/test_amendments.py."""

from __future__ import annotations

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2 as pb
from tests.helpers import Stubs, rich


def _amend(stubs: Stubs, order_id: str, *lines: tuple[str, int], validate_only: bool = False) -> pb.AmendOrderResponse:
    items = [pb.AmendOrderRequest.Item(product_id=p, quantity=q) for p, q in lines]
    return stubs.orders.AmendOrder(pb.AmendOrderRequest(id=order_id, items=items, reason="phone call", validate_only=validate_only))


def test_an_amendment_answers_the_order_with_its_new_lines_total_and_etag(stubs: Stubs) -> None:
    a, b = stubs.product(stock=5, price="10.00"), stubs.product(stock=5, price="1.25")
    order = stubs.order(stubs.customer().id, (a.id, 1))
    reply = _amend(stubs, order.id, (a.id, 2), (b.id, 4))
    assert [(i.product_id, i.quantity, i.open_quantity) for i in reply.order.items] == [(a.id, 2, 2), (b.id, 4, 4)]
    assert (reply.order.total.units, reply.order.etag, list(reply.shortages)) == (25, "2", [])
    assert [(h.from_status, h.to_status, h.reason) for h in stubs.history(order.id)][-1] == (
        pb.ORDER_STATUS_PENDING, pb.ORDER_STATUS_PENDING, "amended: phone call"
    )


def test_a_short_amendment_names_each_short_product_and_a_preview_lists_them_instead(stubs: Stubs) -> None:
    a, b = stubs.product(stock=2), stubs.product(stock=1)
    order = stubs.order(stubs.customer().id, (a.id, 1), (b.id, 1))
    with pytest.raises(grpc.RpcError) as caught:
        _amend(stubs, order.id, (a.id, 5), (b.id, 3))
    error = rich(caught.value)
    assert (error.code, error.reason, error.precondition_subjects) == (
        grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK", [f"products/{a.id}", f"products/{b.id}"]
    )
    preview = _amend(stubs, order.id, (a.id, 5), (b.id, 3), validate_only=True)
    assert [(s.product_id, s.requested_quantity, s.available_quantity) for s in preview.shortages] == [(a.id, 4, 1), (b.id, 2, 0)]
    assert stubs.orders.GetOrder(pb.GetOrderRequest(id=order.id)) == order


def test_refusals_carry_their_reason_and_details(stubs: Stubs) -> None:
    a = stubs.product(stock=5)
    order = stubs.order(stubs.customer().id, (a.id, 1))
    with pytest.raises(grpc.RpcError) as twice:
        _amend(stubs, order.id, (a.id, 1), (a.id, 2))
    assert (rich(twice.value).code, rich(twice.value).field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT, {"items[1].product_id": "DUPLICATE_PRODUCT"}
    )
    with pytest.raises(grpc.RpcError) as empty:
        _amend(stubs, order.id, (a.id, 0))
    assert (rich(empty.value).reason, rich(empty.value).precondition_subjects) == ("ORDER_WOULD_BE_EMPTY", [f"orders/{order.id}"])
    stubs.orders.CancelOrder(pb.CancelOrderRequest(id=order.id, reason="gone"))
    with pytest.raises(grpc.RpcError) as canceled:
        _amend(stubs, order.id, (a.id, 2))
    assert (rich(canceled.value).reason, rich(canceled.value).metadata["current_status"]) == ("ORDER_NOT_AMENDABLE", "CANCELED")
