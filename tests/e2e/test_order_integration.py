"""What an ERP integration needs from orders (issue 26), over gRPC and REST against real servers."""

from __future__ import annotations

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from service._gen.erp.orders.v1 import order_pb2 as opb
from tests.helpers import Stubs, rich


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _orders(stubs: Stubs, count: int) -> list[opb.Order]:
    customer, product = stubs.customer(), stubs.product(stock=count)
    return [stubs.order(customer.id, (product.id, 1)) for _ in range(count)]


def test_batch_get_returns_the_orders_in_the_order_asked_with_their_items(stubs: Stubs) -> None:
    first, second, third = _orders(stubs, 3)
    asked = [third.id, first.id, third.id, second.id]
    reply = stubs.orders.BatchGetOrders(opb.BatchGetOrdersRequest(ids=asked))
    assert list(reply.orders) == [third, first, third, second]


def test_batch_get_with_unknown_ids_is_not_found_naming_each_of_them_and_returns_nothing(stubs: Stubs) -> None:
    [known] = _orders(stubs, 1)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.BatchGetOrders(opb.BatchGetOrdersRequest(ids=[known.id, "999999999", "abc", "999999999"]))
    error = rich(caught.value)
    assert (error.code, error.reason, error.metadata["resource"]) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND", "order")
    assert error.message == "orders '999999999', 'abc' not found"
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    named = [info.resource_name for d in status.details if d.Unpack(info := error_details_pb2.ResourceInfo())]
    assert named == ["999999999", "abc"]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [([], {"ids": "repeated.min_items"}), (["1"] * 201, {"ids": "repeated.max_items"}), (["1", "9" * 65], {"ids[1]": "string.max_len"})],
    ids=["none", "201 ids", "an id too long"],
)
def test_a_batch_of_no_ids_too_many_ids_or_a_long_id_is_invalid(stubs: Stubs, ids: list[str], expected: dict[str, str]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.BatchGetOrders(opb.BatchGetOrdersRequest(ids=ids))
    assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, expected)


def test_batch_get_over_rest_takes_repeated_ids_and_answers_404_naming_the_unknown(stubs: Stubs, http: httpx.Client) -> None:
    first, second = _orders(stubs, 2)
    reply = http.get("/v1/orders:batchGet", params=[("ids", second.id), ("ids", first.id)])
    assert reply.status_code == 200, reply.text
    assert [o["id"] for o in reply.json()["orders"]] == [second.id, first.id]
    missing = http.get("/v1/orders:batchGet", params=[("ids", first.id), ("ids", "424242")])
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "order '424242' not found"
    too_many = http.get("/v1/orders:batchGet", params=[("ids", first.id)] * 201)
    assert too_many.status_code == 400


def test_openapi_json_documents_the_batch_limit(http: httpx.Client) -> None:
    [ids] = http.get("/openapi.json").json()["paths"]["/v1/orders:batchGet"]["get"]["parameters"]
    assert (ids["name"], ids["schema"]["minItems"], ids["schema"]["maxItems"], ids["schema"]["items"]["maxLength"]) == ("ids", 1, 200, 64)
