"""Bad input where the real server matters: prices at the database column's edge, ids storage cannot
parse, bytes off the wire. Field violations and their codes are tested in tests/unit/test_api_errors.py."""

from __future__ import annotations

import grpc
import pytest
from google.type import money_pb2
from prometheus_client import REGISTRY

from service._gen.erp.orders.v1 import customer_pb2 as cpb
from service._gen.erp.orders.v1 import order_pb2 as opb
from service._gen.erp.orders.v1 import product_pb2 as ppb
from tests.helpers import Stubs, cnpj, rich, unique


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


@pytest.fixture
def world(stubs: Stubs) -> tuple[str, str]:
    return stubs.customer().id, stubs.product(stock=50).id


def test_the_largest_price_is_one_cent_below_ten_to_the_ten(stubs: Stubs) -> None:
    largest = money_pb2.Money(units=9_999_999_999, nanos=990_000_000)
    product = stubs.products.CreateProduct(ppb.CreateProductRequest(sku=unique("SKU-"), name="x", price=largest))
    assert (product.price.units, product.price.nanos) == (9_999_999_999, 990_000_000)


def test_a_document_with_wrong_check_digits_is_refused_naming_the_rule(stubs: Stubs) -> None:
    email = f"{unique()}@example.com".lower()
    for document in ("12345678901", "11222333000182"):
        create = cpb.CreateCustomerRequest(name="x", document=document, email=email)
        with pytest.raises(grpc.RpcError) as refused:
            stubs.customers.CreateCustomer(create)
        error = rich(refused.value)
        assert (error.code, error.field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {"document": "DOCUMENT_CHECK_DIGITS"})
    assert stubs.customers.ListCustomers(cpb.ListCustomersRequest(email=email)).customers == []
    assert stubs.customer(document=cnpj(), email=email).email == email


def test_unknown_ids_are_not_found_and_change_nothing(stubs: Stubs, world: tuple[str, str]) -> None:
    customer_id, product_id = world
    cases = [
        (lambda: stubs.order("999999999", (product_id, 1)), "customer"),
        (lambda: stubs.order(customer_id, (product_id, 1), ("999999999", 1)), "product"),
        (lambda: stubs.order(customer_id, ("not-a-number", 1)), "product"),
        (lambda: stubs.orders.GetOrder(opb.GetOrderRequest(id="0042")), "order"),
        (lambda: stubs.products.AdjustStock(ppb.AdjustStockRequest(id="12345678901", delta=1, reason="r")), "product"),
    ]
    for call, resource in cases:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        error = rich(caught.value)
        assert (error.code, error.reason, error.metadata["resource"]) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND", resource)
    assert stubs.stock(product_id) == 50
    assert stubs.orders.ListOrders(opb.ListOrdersRequest(customer_id=customer_id)).orders == []


@pytest.mark.parametrize(
    ("method", "raw"),
    [
        ("/erp.orders.v1.OrderService/GetOrder", b"\xff\xff\xff\xff"),  # not protobuf at all
        ("/erp.orders.v1.OrderService/GetOrder", b"\x0a\x02\xff\xfe"),  # an `id` that is not UTF-8
        ("/grpc.health.v1.Health/Check", b"\x0a\x02\xff\xfe"),  # a `service` that is not UTF-8, no token needed
    ],
    ids=["garbage", "invalid utf-8 in a string field", "health check"],
)
def test_bytes_that_do_not_parse_as_the_request_are_an_invalid_argument_and_counted_as_one(
    channel: grpc.Channel, method: str, raw: bytes
) -> None:
    labels = {"method": method, "code": "INVALID_ARGUMENT"}
    before = REGISTRY.get_sample_value("orders_rpcs_total", labels) or 0.0
    with pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary(method)(raw)  # no serializer: the bytes go out as they are
    error = rich(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")
    assert error.message.startswith("the request is not a serialized ") and error.message.endswith("Request")
    assert REGISTRY.get_sample_value("orders_rpcs_total", labels) == before + 1
