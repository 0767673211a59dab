"""Domain errors and bad input as the API answers them: code, ErrorInfo reason and google.rpc details,
through the real chain and servicers on the fakes (tests/unit/api.py). Nothing refused changes anything."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import money_pb2

from service._gen.erp.orders.v1 import customer_pb2 as cpb
from service._gen.erp.orders.v1 import order_pb2 as opb
from service._gen.erp.orders.v1 import product_pb2 as ppb
from service.domain.errors import LockContention, OrdersError, StorageUnavailable
from tests.helpers import RichError, Stubs, cpf, rich, unique
from tests.unit.api import Api

Item = opb.CreateOrderRequest.Item


@pytest.fixture
def world(stubs: Stubs) -> tuple[str, str]:
    return stubs.customer().id, stubs.product(stock=50).id


def _refused(call: Callable[[], object]) -> RichError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return rich(caught.value)


def _violations(call: Callable[[], object]) -> dict[str, str]:
    error = _refused(call)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
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
    api: Api, stubs: Stubs, world: tuple[str, str], items: list[opb.CreateOrderRequest.Item], expected: dict[str, str]
) -> None:
    customer_id, product_id = world
    lines = [Item(product_id=i.product_id or product_id, quantity=i.quantity) for i in items]
    assert _violations(lambda: stubs.orders.CreateOrder(opb.CreateOrderRequest(customer_id=customer_id, items=lines))) == expected
    assert stubs.stock(product_id) == 50
    assert (api.tables.orders, len(api.tables.ledger)) == ({}, 1)


def test_over_long_strings_name_every_field(stubs: Stubs, world: tuple[str, str]) -> None:
    customer_id, product_id = world
    request = opb.CreateOrderRequest(customer_id="9" * 65, note="n" * 1001, items=[Item(product_id=product_id, quantity=1)])
    assert _violations(lambda: stubs.orders.CreateOrder(request)) == {"customer_id": "string.max_len", "note": "string.max_len"}
    create = cpb.CreateCustomerRequest(name="x" * 201, document="123", email="not-an-email")
    assert _violations(lambda: stubs.customers.CreateCustomer(create)) == {
        "name": "string.max_len", "document": "string.pattern", "email": "string.email",
    }
    assert stubs.stock(product_id) == 50


def test_prices_need_whole_cents_and_the_service_currency(api: Api, stubs: Stubs) -> None:
    sku = unique("SKU-")
    fractional = ppb.CreateProductRequest(sku=sku, name="x", price=money_pb2.Money(currency_code="BRL", units=1, nanos=5))
    assert _violations(lambda: stubs.products.CreateProduct(fractional)) == {"price": "price.cents"}
    dollars = ppb.CreateProductRequest(sku=sku, name="x", price=money_pb2.Money(currency_code="USD", units=1))
    assert _violations(lambda: stubs.products.CreateProduct(dollars)) == {"price.currency_code": "UNSUPPORTED_CURRENCY"}
    assert api.tables.products == {}


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


def test_unknown_ids_are_not_found_with_the_resource_named_and_change_nothing(api: Api, stubs: Stubs, world: tuple[str, str]) -> None:
    customer_id, product_id = world
    cases = [
        (lambda: stubs.order("999999999", (product_id, 1)), "customer", "999999999"),
        (lambda: stubs.order(customer_id, (product_id, 1), ("999999999", 1)), "product", "999999999"),
        (lambda: stubs.orders.GetOrder(opb.GetOrderRequest(id="42")), "order", "42"),
        (lambda: stubs.customers.GetCustomer(cpb.GetCustomerRequest(id="42")), "customer", "42"),
        (lambda: stubs.products.AdjustStock(ppb.AdjustStockRequest(id="42", delta=1, reason="r")), "product", "42"),
    ]
    for call, resource, name in cases:
        error = _refused(call)
        assert (error.code, error.reason, error.metadata) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND", {"resource": resource, "id": name})
    assert stubs.stock(product_id) == 50
    assert api.tables.orders == {}


def test_insufficient_stock_is_a_failed_precondition_naming_each_short_product(api: Api, stubs: Stubs) -> None:
    customer, plenty, short, scarce = stubs.customer(), stubs.product(stock=9), stubs.product(stock=1), stubs.product(stock=0)
    error = _refused(lambda: stubs.order(customer.id, (plenty.id, 2), (short.id, 2), (scarce.id, 1)))
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK")
    assert error.precondition_subjects == [f"products/{short.id}", f"products/{scarce.id}"]
    assert (stubs.stock(plenty.id), api.tables.orders) == (9, {})


def test_adjusting_stock_below_zero_is_refused(stubs: Stubs) -> None:
    product = stubs.product(stock=3)
    error = _refused(lambda: stubs.products.AdjustStock(ppb.AdjustStockRequest(id=product.id, delta=-4, reason="shrinkage")))
    assert (error.code, error.reason, error.precondition_subjects) == (
        grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK", [f"products/{product.id}"]
    )
    assert _violations(lambda: stubs.products.AdjustStock(ppb.AdjustStockRequest(id=product.id, delta=0, reason="r"))) == {
        "delta": "int64.not_in"
    }
    response = stubs.products.AdjustStock(ppb.AdjustStockRequest(id=product.id, delta=-3, reason="shrinkage"))
    assert (response.product.stock_quantity, response.movement.delta, response.movement.stock_after) == (0, -3, 0)
    assert [m.delta for m in stubs.movements(product.id)] == [3, -3]


def test_a_deleted_product_is_not_found_for_delete_and_a_live_one_already_exists_for_undelete(stubs: Stubs) -> None:
    product = stubs.product(stock=3)
    assert stubs.products.DeleteProduct(ppb.DeleteProductRequest(id=product.id)).HasField("delete_time")
    assert stubs.products.GetProduct(ppb.GetProductRequest(id=product.id)).HasField("delete_time")
    error = _refused(lambda: stubs.products.DeleteProduct(ppb.DeleteProductRequest(id=product.id)))
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    assert not stubs.products.UndeleteProduct(ppb.UndeleteProductRequest(id=product.id)).HasField("delete_time")
    error = _refused(lambda: stubs.products.UndeleteProduct(ppb.UndeleteProductRequest(id=product.id)))
    assert (error.code, error.reason, error.metadata["resource"]) == (grpc.StatusCode.ALREADY_EXISTS, "NOT_DELETED", "product")


def test_deleted_or_inactive_products_and_customers_cannot_be_ordered(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=5)
    stubs.products.DeleteProduct(ppb.DeleteProductRequest(id=product.id))
    assert _refused(lambda: stubs.order(customer.id, (product.id, 1))).reason == "PRODUCT_DELETED"
    stubs.products.UndeleteProduct(ppb.UndeleteProductRequest(id=product.id))
    inactive = ppb.Product(id=product.id, active=False)
    stubs.products.UpdateProduct(ppb.UpdateProductRequest(product=inactive, update_mask=field_mask_pb2.FieldMask(paths=["active"])))
    assert _refused(lambda: stubs.order(customer.id, (product.id, 1))).reason == "PRODUCT_INACTIVE"
    other = stubs.product(stock=5)
    stubs.customers.DeleteCustomer(cpb.DeleteCustomerRequest(id=customer.id))
    error = _refused(lambda: stubs.order(customer.id, (other.id, 1)))
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CUSTOMER_DELETED")
    assert stubs.stock(product.id) == stubs.stock(other.id) == 5


def test_update_changes_only_the_masked_fields_and_refuses_immutable_ones(stubs: Stubs) -> None:
    customer = stubs.customer(name="Before", phone="+5511988887777")
    mask = field_mask_pb2.FieldMask(paths=["name"])
    changed = stubs.customers.UpdateCustomer(
        cpb.UpdateCustomerRequest(customer=cpb.Customer(id=customer.id, name="After", phone="+5511000000000"), update_mask=mask)
    )
    assert (changed.name, changed.phone, changed.email) == ("After", "+5511988887777", customer.email)
    document = cpb.UpdateCustomerRequest(
        customer=cpb.Customer(id=customer.id, document=cpf()), update_mask=field_mask_pb2.FieldMask(paths=["document"])
    )
    assert _violations(lambda: stubs.customers.UpdateCustomer(document)) == {"update_mask": "FIELD_NOT_UPDATABLE"}
    empty_name = cpb.UpdateCustomerRequest(customer=cpb.Customer(id=customer.id), update_mask=mask)
    assert _violations(lambda: stubs.customers.UpdateCustomer(empty_name)) == {"customer.name": "REQUIRED"}
    assert stubs.customers.GetCustomer(cpb.GetCustomerRequest(id=customer.id)).name == "After"


def test_an_impossible_timestamp_filter_is_invalid_not_internal(stubs: Stubs) -> None:
    request = opb.ListOrdersRequest(create_time_from=Timestamp(seconds=10**12))
    assert _violations(lambda: stubs.orders.ListOrders(request)) == {"create_time_from": "INVALID_TIMESTAMP"}


def test_an_unexpected_error_is_internal_without_its_text(api: Api, stubs: Stubs, monkeypatch: pytest.MonkeyPatch) -> None:
    customer = stubs.customer()

    def broken(*_: object) -> object:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr("service.usecases.customers.get_customer", broken)
    error = _refused(lambda: stubs.customers.GetCustomer(cpb.GetCustomerRequest(id=customer.id)))
    assert (error.code, error.message) == (grpc.StatusCode.INTERNAL, "internal error")


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [(LockContention(1), grpc.StatusCode.ABORTED, "LOCK_CONTENTION"), (StorageUnavailable(), grpc.StatusCode.UNAVAILABLE, "STORAGE_UNAVAILABLE")],
    ids=["contention past the retries", "storage unavailable"],
)
def test_storage_trouble_is_retryable_with_retry_info(
    api: Api, stubs: Stubs, monkeypatch: pytest.MonkeyPatch, error: OrdersError, code: grpc.StatusCode, reason: str
) -> None:
    customer = stubs.customer()
    attempts: list[object] = []

    def failing(*args: object) -> object:
        attempts.append(args)
        raise error

    monkeypatch.setattr("service.usecases.customers.get_customer", failing)
    refused = _refused(lambda: stubs.customers.GetCustomer(cpb.GetCustomerRequest(id=customer.id)))
    assert (refused.code, refused.reason, refused.has_retry_info) == (code, reason, True)
    assert len(attempts) == (api.settings.retry_attempts if isinstance(error, LockContention) else 1)  # only contention is re-run
