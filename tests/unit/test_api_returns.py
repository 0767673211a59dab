"""CreateReturn and ListReturns as the API answers them, on the in-memory tables (tests/unit/api.py): the
contract's rules, the domain's refusals with their details, the role. Returns on MariaDB: tests/e2e/test_returns.py."""

from __future__ import annotations

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2 as pb
from tests.helpers import Stubs, rich, token
from tests.unit.api import Api

RESTOCK, SCRAP = pb.RETURN_DISPOSITION_RESTOCK, pb.RETURN_DISPOSITION_SCRAP


def _return(stubs: Stubs, order_id: str, *lines: tuple[str, int, int], reason: str = "damaged") -> pb.Return:
    items = [pb.CreateReturnRequest.Item(product_id=p, quantity=q, disposition=d) for p, q, d in lines]  # type: ignore[arg-type]
    return stubs.orders.CreateReturn(pb.CreateReturnRequest(order_id=order_id, items=items, reason=reason))


@pytest.fixture
def shipped(stubs: Stubs) -> tuple[pb.Order, str]:
    product = stubs.product(stock=3).id
    order = stubs.order(stubs.customer().id, (product, 2))
    for status in (pb.ORDER_STATUS_CONFIRMED, pb.ORDER_STATUS_PICKED, pb.ORDER_STATUS_SHIPPED):
        order = stubs.orders.UpdateOrderStatus(pb.UpdateOrderStatusRequest(id=order.id, status=status))
    return order, product


def test_a_return_answers_the_return_and_the_order_counts_it(stubs: Stubs, shipped: tuple[pb.Order, str]) -> None:
    order, product = shipped
    taken = _return(stubs, order.id, (product, 1, SCRAP))
    assert [(i.product_id, i.quantity, i.disposition) for i in taken.items] == [(product, 1, SCRAP)]
    line = stubs.orders.GetOrder(pb.GetOrderRequest(id=order.id)).items[0]
    assert (line.shipped_quantity, line.returned_quantity, line.open_quantity) == (2, 1, 0)
    assert list(stubs.orders.ListReturns(pb.ListReturnsRequest(order_id=order.id)).returns) == [taken]


@pytest.mark.parametrize(
    ("lines", "field", "rule"),
    [
        ([("p", 1, 0)], "items[0].disposition", "enum.not_in"),
        ([("p", 1, 3)], "items[0].disposition", "enum.defined_only"),
        ([("p", 0, RESTOCK)], "items[0].quantity", "int32.gt_lte"),
        ([], "items", "repeated.min_items"),
        ([("p", 1, RESTOCK), ("p", 2, RESTOCK)], "items[1].product_id", "DUPLICATE_PRODUCT"),
    ],
)
def test_bad_lines_are_invalid_arguments_naming_the_field(
    stubs: Stubs, shipped: tuple[pb.Order, str], lines: list[tuple[str, int, int]], field: str, rule: str
) -> None:
    order, product = shipped
    with pytest.raises(grpc.RpcError) as caught:
        _return(stubs, order.id, *[(product, q, d) for _, q, d in lines])
    error = rich(caught.value)
    assert (error.code, error.field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {field: rule})


def test_returning_more_than_shipped_is_a_failed_precondition_naming_the_line(stubs: Stubs, shipped: tuple[pb.Order, str]) -> None:
    order, product = shipped
    with pytest.raises(grpc.RpcError) as caught:
        _return(stubs, order.id, (product, 3, RESTOCK))
    error = rich(caught.value)
    assert (error.code, error.reason, error.precondition_subjects) == (grpc.StatusCode.FAILED_PRECONDITION, "EXCEEDS_SHIPPED_QUANTITY", ["items[0]"])
    assert error.metadata == {"order_id": order.id, "product_ids": product}
    assert "requested 3, shipped and not yet returned 2" in error.message


def test_a_return_needs_the_fulfilment_role(api: Api, stubs: Stubs, shipped: tuple[pb.Order, str]) -> None:
    order, product = shipped
    reader = api.stubs(token("reader", roles=["orders.read"]))
    with pytest.raises(grpc.RpcError) as caught:
        _return(reader, order.id, (product, 1, RESTOCK))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert list(reader.orders.ListReturns(pb.ListReturnsRequest(order_id=order.id)).returns) == []
