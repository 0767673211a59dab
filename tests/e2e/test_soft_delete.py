"""AIP-164 soft delete for customers and products, and what deleted or inactive rows may not do."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from service._gen.erp.orders.v1 import customer_pb2 as cpb
from service._gen.erp.orders.v1 import product_pb2 as ppb
from tests.helpers import Stubs, cpf, rich, unique


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _error(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = rich(caught.value)
    return error.code, error.reason


def test_a_deleted_product_is_readable_hidden_from_lists_and_restorable(stubs: Stubs) -> None:
    name = unique("Gadget ")
    product = stubs.product(stock=3, name=name)
    listed = lambda **kw: [p.id for p in stubs.products.ListProducts(ppb.ListProductsRequest(name_contains=name, **kw)).products]  # noqa: E731
    deleted = stubs.products.DeleteProduct(ppb.DeleteProductRequest(id=product.id))
    assert deleted.HasField("delete_time")
    assert stubs.products.GetProduct(ppb.GetProductRequest(id=product.id)).HasField("delete_time")
    assert listed() == []
    assert listed(show_deleted=True) == [product.id]
    assert _error(lambda: stubs.products.DeleteProduct(ppb.DeleteProductRequest(id=product.id))) == (
        grpc.StatusCode.NOT_FOUND, "NOT_FOUND",
    )
    restored = stubs.products.UndeleteProduct(ppb.UndeleteProductRequest(id=product.id))
    assert not restored.HasField("delete_time")
    assert listed() == [product.id]
    assert _error(lambda: stubs.products.UndeleteProduct(ppb.UndeleteProductRequest(id=product.id))) == (
        grpc.StatusCode.ALREADY_EXISTS, "NOT_DELETED",
    )


def test_deleted_or_inactive_products_and_customers_cannot_be_ordered(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=5)
    stubs.products.DeleteProduct(ppb.DeleteProductRequest(id=product.id))
    assert _error(lambda: stubs.order(customer.id, (product.id, 1))) == (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_DELETED")
    stubs.products.UndeleteProduct(ppb.UndeleteProductRequest(id=product.id))
    inactive = ppb.Product(id=product.id, active=False)
    stubs.products.UpdateProduct(ppb.UpdateProductRequest(product=inactive, update_mask=field_mask_pb2.FieldMask(paths=["active"])))
    assert _error(lambda: stubs.order(customer.id, (product.id, 1))) == (grpc.StatusCode.FAILED_PRECONDITION, "PRODUCT_INACTIVE")

    other = stubs.product(stock=5)
    stubs.customers.DeleteCustomer(cpb.DeleteCustomerRequest(id=customer.id))
    assert _error(lambda: stubs.order(customer.id, (other.id, 1))) == (grpc.StatusCode.FAILED_PRECONDITION, "CUSTOMER_DELETED")
    assert stubs.stock(product.id) == stubs.stock(other.id) == 5


def test_customer_lists_page_with_stable_tokens_and_show_deleted(stubs: Stubs) -> None:
    made = [stubs.customer() for _ in range(5)]
    stubs.customers.DeleteCustomer(cpb.DeleteCustomerRequest(id=made[1].id))
    seen: list[str] = []
    request = cpb.ListCustomersRequest(page_size=2)
    while True:
        page = stubs.customers.ListCustomers(request)
        seen += [c.id for c in page.customers]
        stubs.customer()  # inserts between pages must not shift or repeat rows
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    mine = [c.id for c in made]
    assert [i for i in seen if i in mine] == [mine[0], *mine[2:]]
    assert len(seen) == len(set(seen))
    everything = stubs.customers.ListCustomers(cpb.ListCustomersRequest(page_size=1000, show_deleted=True))
    assert made[1].id in [c.id for c in everything.customers]


def test_a_page_token_is_refused_with_other_filters(stubs: Stubs) -> None:
    for _ in range(3):
        stubs.customer()
    first = stubs.customers.ListCustomers(cpb.ListCustomersRequest(page_size=1))
    for request in (
        cpb.ListCustomersRequest(page_size=1, page_token=first.next_page_token, show_deleted=True),
        cpb.ListCustomersRequest(page_token="not-a-token"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            stubs.customers.ListCustomers(request)
        assert rich(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT
        assert list(rich(caught.value).field_violations) == ["page_token"]


def test_unique_values_stay_reserved_by_deleted_customers(stubs: Stubs) -> None:
    document = cpf()
    customer = stubs.customer(document=document)
    stubs.customers.DeleteCustomer(cpb.DeleteCustomerRequest(id=customer.id))
    with pytest.raises(grpc.RpcError) as caught:
        stubs.customer(document=document)
    error = rich(caught.value)
    assert (error.code, error.reason, error.metadata["field"]) == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS", "document")


def test_update_changes_only_the_masked_fields_and_refuses_immutable_ones(stubs: Stubs) -> None:
    customer = stubs.customer(name="Before", phone="+5511988887777")
    mask = field_mask_pb2.FieldMask(paths=["name"])
    changed = stubs.customers.UpdateCustomer(
        cpb.UpdateCustomerRequest(customer=cpb.Customer(id=customer.id, name="After", phone="+5511000000000"), update_mask=mask)
    )
    assert (changed.name, changed.phone, changed.email) == ("After", "+5511988887777", customer.email)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.customers.UpdateCustomer(
            cpb.UpdateCustomerRequest(
                customer=cpb.Customer(id=customer.id, document=cpf()), update_mask=field_mask_pb2.FieldMask(paths=["document"])
            )
        )
    assert rich(caught.value).field_violations == {"update_mask": "FIELD_NOT_UPDATABLE"}
    with pytest.raises(grpc.RpcError) as caught:
        stubs.customers.UpdateCustomer(cpb.UpdateCustomerRequest(customer=cpb.Customer(id=customer.id), update_mask=mask))
    assert rich(caught.value).field_violations == {"customer.name": "REQUIRED"}
    assert stubs.customers.GetCustomer(cpb.GetCustomerRequest(id=customer.id)).name == "After"
