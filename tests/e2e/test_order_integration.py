"""What an ERP integration needs from orders (issue 26), over gRPC and REST against real servers."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from service._gen.erp.orders.v1 import order_pb2 as opb
from tests.helpers import Stubs, outcome, rich, unique

Item = opb.CreateOrderRequest.Item


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


def _ordered(stubs: Stubs, customer_id: str, product_id: str, reference: str, key: str | None = None) -> opb.Order:
    request = opb.CreateOrderRequest(customer_id=customer_id, items=[Item(product_id=product_id, quantity=1)], external_reference=reference)
    metadata = [("idempotency-key", key)] if key else None
    reply: opb.Order = stubs.orders.CreateOrder(request, metadata=metadata)
    return reply


def test_a_reference_is_kept_on_the_order_and_a_second_order_with_it_names_the_first(stubs: Stubs) -> None:
    customer, other, product = stubs.customer(), stubs.customer(), stubs.product(stock=10)
    reference = unique("PO-2026/")
    first = _ordered(stubs, customer.id, product.id, reference)
    assert stubs.orders.GetOrder(opb.GetOrderRequest(id=first.id)).external_reference == reference
    with pytest.raises(grpc.RpcError) as caught:
        _ordered(stubs, customer.id, product.id, reference)
    error = rich(caught.value)
    assert (error.code, error.reason, error.metadata["id"]) == (grpc.StatusCode.ALREADY_EXISTS, "EXTERNAL_REFERENCE_TAKEN", first.id)
    assert error.message == f"customer {customer.id} already has order {first.id} with external_reference {reference!r}"
    assert _ordered(stubs, other.id, product.id, reference).external_reference == reference  # unique per customer
    assert _ordered(stubs, customer.id, product.id, reference.lower()).external_reference == reference.lower()  # case matters
    assert stubs.stock(product.id) == 7


def test_the_idempotency_key_rules_come_before_the_reference(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    reference, key = unique("ERP-"), unique("key-")
    first = _ordered(stubs, customer.id, product.id, reference, key)
    assert _ordered(stubs, customer.id, product.id, reference, key) == first  # a retry replays
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.CreateOrder(
            opb.CreateOrderRequest(customer_id=customer.id, items=[Item(product_id=product.id, quantity=2)], external_reference=reference),
            metadata=[("idempotency-key", key)],
        )
    assert rich(caught.value).reason == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(grpc.RpcError) as taken:
        _ordered(stubs, customer.id, product.id, reference, unique("key-"))
    assert rich(taken.value).reason == "EXTERNAL_REFERENCE_TAKEN"
    assert stubs.stock(product.id) == 9


def test_ten_concurrent_creates_with_one_reference_make_one_order(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=20)
    reference = unique("RACE-")
    with ThreadPoolExecutor(10) as pool:
        outcomes = Counter(pool.map(lambda _: outcome(lambda: _ordered(stubs, customer.id, product.id, reference)), range(10)))
    assert outcomes == {"OK": 1, "EXTERNAL_REFERENCE_TAKEN": 9}
    [order] = stubs.all_orders(customer.id)
    assert order.external_reference == reference and stubs.stock(product.id) == 19


def test_list_orders_filters_by_reference_over_grpc_and_rest(stubs: Stubs, http: httpx.Client) -> None:
    customer, other, product = stubs.customer(), stubs.customer(), stubs.product(stock=10)
    reference = unique("SO-")
    mine, theirs = _ordered(stubs, customer.id, product.id, reference), _ordered(stubs, other.id, product.id, reference)
    _ordered(stubs, customer.id, product.id, unique("SO-"))
    found = stubs.orders.ListOrders(opb.ListOrdersRequest(external_reference=reference)).orders
    assert [o.id for o in found] == [theirs.id, mine.id]
    one = http.get("/v1/orders", params={"externalReference": reference, "customerId": customer.id})
    assert [o["externalReference"] for o in one.json()["orders"]] == [reference] and one.json()["orders"][0]["id"] == mine.id


@pytest.mark.parametrize(
    ("reference", "rule"),
    [("x" * 65, "string.max_len"), ("-PO", "string.pattern"), ("PO 1", "string.pattern"), ("PO-é", "string.pattern")],
    ids=["65 characters", "leading dash", "a space", "not ascii"],
)
def test_a_reference_too_long_or_outside_its_set_is_invalid_on_create_and_list(stubs: Stubs, reference: str, rule: str) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1)
    for call in (
        lambda: _ordered(stubs, customer.id, product.id, reference),
        lambda: stubs.orders.ListOrders(opb.ListOrdersRequest(external_reference=reference)),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {"external_reference": rule})
    assert stubs.stock(product.id) == 1


def test_a_bad_reference_over_rest_reads_as_a_sentence(stubs: Stubs, http: httpx.Client) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1)
    reply = http.post("/v1/orders", json={"customerId": customer.id, "items": [{"productId": product.id, "quantity": 1}], "externalReference": "PO 1"})
    assert reply.status_code == 400
    [bad] = [d for d in reply.json()["error"]["details"] if d["@type"].endswith("BadRequest")]
    assert bad["fieldViolations"][0]["field"] == "external_reference"
    assert bad["fieldViolations"][0]["description"].startswith("must be ASCII letters, digits")
