"""Bad input gets a precise code with field violations, and changes nothing."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import money_pb2
from prometheus_client import REGISTRY

from service._gen.erp.orders.v1 import customer_pb2 as cpb
from service._gen.erp.orders.v1 import order_pb2 as opb
from service._gen.erp.orders.v1 import product_pb2 as ppb
from tests.helpers import Stubs, cnpj, rich, unique

Item = opb.CreateOrderRequest.Item


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


@pytest.fixture
def world(stubs: Stubs) -> tuple[str, str]:
    return stubs.customer().id, stubs.product(stock=50).id


def _violations(call) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = rich(caught.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_ARGUMENT"
    return error.field_violations


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([Item(quantity=0)], {"items[0].quantity": "int32.gt_lte"}),
        ([Item(quantity=-5)], {"items[0].quantity": "int32.gt_lte"}),
        ([Item(quantity=10_001)], {"items[0].quantity": "int32.gt_lte"}),
        ([], {"items": "repeated.min_items"}),
        ([Item(quantity=1)] * 101, {"items": "repeated.max_items"}),
        ([Item(quantity=1, product_id="x" * 65)], {"items[0].product_id": "string.max_len"}),
    ],
    ids=["zero", "negative", "huge", "no items", "101 lines", "long product id"],
)
def test_bad_order_lines_are_rejected_before_touching_stock(
    stubs: Stubs, world: tuple[str, str], items: list[Item], expected: dict[str, str]
) -> None:
    customer_id, product_id = world
    lines = [Item(product_id=i.product_id or product_id, quantity=i.quantity) for i in items]
    assert _violations(lambda: stubs.orders.CreateOrder(opb.CreateOrderRequest(customer_id=customer_id, items=lines))) == expected
    assert stubs.stock(product_id) == 50
    assert len(stubs.movements(product_id)) == 1


def test_over_long_strings_name_every_field(stubs: Stubs, world: tuple[str, str]) -> None:
    customer_id, product_id = world
    request = opb.CreateOrderRequest(customer_id="9" * 65, note="n" * 1001, items=[Item(product_id=product_id, quantity=1)])
    assert _violations(lambda: stubs.orders.CreateOrder(request)) == {"customer_id": "string.max_len", "note": "string.max_len"}
    create = cpb.CreateCustomerRequest(name="x" * 201, document="123", email="not-an-email")
    assert _violations(lambda: stubs.customers.CreateCustomer(create)) == {
        "name": "string.max_len", "document": "string.pattern", "email": "string.email",
    }
    assert stubs.stock(product_id) == 50


def test_a_document_with_wrong_check_digits_is_refused_naming_the_rule(stubs: Stubs) -> None:
    email = f"{unique()}@example.com".lower()
    for document in ("12345678901", "11222333000182"):
        create = cpb.CreateCustomerRequest(name="x", document=document, email=email)
        assert _violations(lambda: stubs.customers.CreateCustomer(create)) == {"document": "DOCUMENT_CHECK_DIGITS"}  # noqa: B023
    assert stubs.customers.ListCustomers(cpb.ListCustomersRequest(email=email)).customers == []
    assert stubs.customer(document=cnpj(), email=email).email == email


def test_prices_need_whole_cents_and_the_service_currency(stubs: Stubs) -> None:
    sku = unique("SKU-")
    fractional = ppb.CreateProductRequest(sku=sku, name="x", price=money_pb2.Money(currency_code="BRL", units=1, nanos=5))
    assert _violations(lambda: stubs.products.CreateProduct(fractional)) == {"price": "price.cents"}
    dollars = ppb.CreateProductRequest(sku=sku, name="x", price=money_pb2.Money(currency_code="USD", units=1))
    assert _violations(lambda: stubs.products.CreateProduct(dollars)) == {"price.currency_code": "UNSUPPORTED_CURRENCY"}
    assert stubs.products.ListProducts(ppb.ListProductsRequest(sku=sku)).products == []


@pytest.mark.parametrize(("units", "nanos"), [(1, 1_000_000_000), (9_999_999_999, 1_000_000_000), (10_000_000_000, 0), (1, -10_000_000), (-1, 0)])
def test_prices_outside_zero_to_just_below_ten_to_the_ten_are_refused_on_create_and_update(
    stubs: Stubs, world: tuple[str, str], units: int, nanos: int
) -> None:
    _, product_id = world
    price = money_pb2.Money(units=units, nanos=nanos)
    create = ppb.CreateProductRequest(sku=unique("SKU-"), name="x", price=price)
    assert _violations(lambda: stubs.products.CreateProduct(create)) == {"price": "price.cents"}
    update = ppb.UpdateProductRequest(product=ppb.Product(id=product_id, price=price), update_mask=field_mask_pb2.FieldMask(paths=["price"]))
    assert _violations(lambda: stubs.products.UpdateProduct(update)) == {"product.price": "price.cents"}
    assert stubs.products.GetProduct(ppb.GetProductRequest(id=product_id)).price.units == 10


def test_the_largest_price_is_one_cent_below_ten_to_the_ten(stubs: Stubs) -> None:
    largest = money_pb2.Money(units=9_999_999_999, nanos=990_000_000)
    product = stubs.products.CreateProduct(ppb.CreateProductRequest(sku=unique("SKU-"), name="x", price=largest))
    assert (product.price.units, product.price.nanos) == (9_999_999_999, 990_000_000)


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


def test_adjusting_stock_below_zero_is_refused(stubs: Stubs) -> None:
    product = stubs.product(stock=3)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.products.AdjustStock(ppb.AdjustStockRequest(id=product.id, delta=-4, reason="shrinkage"))
    assert (rich(caught.value).code, rich(caught.value).reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK")
    assert _violations(lambda: stubs.products.AdjustStock(ppb.AdjustStockRequest(id=product.id, delta=0, reason="r"))) == {
        "delta": "int64.not_in"
    }
    response = stubs.products.AdjustStock(ppb.AdjustStockRequest(id=product.id, delta=-3, reason="shrinkage"))
    assert (response.product.stock_quantity, response.movement.delta, response.movement.stock_after) == (0, -3, 0)
    assert [m.delta for m in stubs.movements(product.id)] == [3, -3]


def test_negative_page_size_is_invalid_and_huge_page_size_is_capped(stubs: Stubs) -> None:
    assert _violations(lambda: stubs.orders.ListOrders(opb.ListOrdersRequest(page_size=-1))) == {"page_size": "int32.gte"}
    stubs.orders.ListOrders(opb.ListOrdersRequest(page_size=2_000_000))


def test_an_impossible_timestamp_filter_is_invalid_not_internal(stubs: Stubs) -> None:
    request = opb.ListOrdersRequest(create_time_from=Timestamp(seconds=10**12))
    assert _violations(lambda: stubs.orders.ListOrders(request)) == {"create_time_from": "INVALID_TIMESTAMP"}


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
