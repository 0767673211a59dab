"""AIP-164 soft delete for customers and products on the real database: lists, pages and unique values.
What deleted or inactive rows may not do is tested in tests/unit/test_api_errors.py."""

from __future__ import annotations

import grpc
import pytest

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


def test_unique_values_stay_reserved_by_deleted_customers(stubs: Stubs) -> None:
    document = cpf()
    customer = stubs.customer(document=document)
    stubs.customers.DeleteCustomer(cpb.DeleteCustomerRequest(id=customer.id))
    with pytest.raises(grpc.RpcError) as caught:
        stubs.customer(document=document)
    error = rich(caught.value)
    assert (error.code, error.reason, error.metadata["field"]) == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS", "document")
