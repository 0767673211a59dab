"""List pages as the API answers them: page_size, next_page_token, tokens bound to their filters, and
pages that stop within the response size limit (tests/unit/api.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from service._gen.erp.orders.v1 import customer_pb2 as cpb
from service._gen.erp.orders.v1 import order_pb2 as opb
from service.domain.model import Customer
from service.grpc.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tests.helpers import Stubs, rich, token
from tests.unit.api import Api, settings
from tests.unit.fakes import Tables

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _tables(customers: int, name: str = "Buyer") -> Tables:
    tables = Tables()
    for _ in range(customers):
        cid = tables.next_id()
        tables.customers[cid] = Customer(cid, name, f"{cid:0>11}", f"c{cid}@example.com", "", "", True, NOW, NOW)
    return tables


def _stubs(customers: int) -> Stubs:
    return Api(_tables(customers)).stubs(token("tester"))


def _all_ids(stubs: Stubs, request: cpb.ListCustomersRequest) -> tuple[list[str], int]:
    """Every customer, page after page, and how many pages it took."""
    ids: list[str] = []
    pages = 0
    while True:
        page = stubs.customers.ListCustomers(request)
        ids, pages = ids + [c.id for c in page.customers], pages + 1
        if not page.next_page_token:
            return ids, pages
        request.page_token = page.next_page_token


def test_pages_of_page_size_walk_every_item_once_and_the_last_has_no_token() -> None:
    ids, pages = _all_ids(_stubs(5), cpb.ListCustomersRequest(page_size=2))
    assert (ids, pages) == (["1", "2", "3", "4", "5"], 3)


def test_without_a_page_size_a_page_has_the_default_and_a_huge_one_is_capped() -> None:
    stubs = _stubs(MAX_PAGE_SIZE + 1)
    first = stubs.customers.ListCustomers(cpb.ListCustomersRequest())
    assert (len(first.customers), bool(first.next_page_token)) == (DEFAULT_PAGE_SIZE, True)
    huge = stubs.customers.ListCustomers(cpb.ListCustomersRequest(page_size=2_000_000))
    assert (len(huge.customers), bool(huge.next_page_token)) == (MAX_PAGE_SIZE, True)


def test_a_negative_page_size_is_invalid() -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _stubs(1).orders.ListOrders(opb.ListOrdersRequest(page_size=-1))
    assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {"page_size": "int32.gte"})


@pytest.mark.parametrize(("ours", "reason"), [(False, "INVALID_PAGE_TOKEN"), (True, "PAGE_TOKEN_FILTER_MISMATCH")],
                         ids=["not one of ours", "issued for other filters"])
def test_a_page_token_is_refused_unless_issued_for_the_same_filters(ours: bool, reason: str) -> None:
    stubs = _stubs(3)
    issued = stubs.customers.ListCustomers(cpb.ListCustomersRequest(page_size=1)).next_page_token
    request = cpb.ListCustomersRequest(page_size=1, page_token=issued if ours else "not-a-token", show_deleted=True)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.customers.ListCustomers(request)
    error = rich(caught.value)
    assert (error.code, error.field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {"page_token": reason})


def test_a_page_stops_before_the_item_that_would_take_it_over_the_message_limit() -> None:
    api = Api(_tables(30, name="N" * 200), settings(max_message_bytes=4096))
    stubs = api.stubs(token("tester"))
    first = stubs.customers.ListCustomers(cpb.ListCustomersRequest(page_size=30))
    assert 1 <= len(first.customers) < 30 and first.ByteSize() <= 4096
    ids, _ = _all_ids(stubs, cpb.ListCustomersRequest(page_size=30))
    assert ids == [str(i) for i in range(1, 31)]
