"""Page tokens: opaque, bound to their filters, and page sizes defaulted and capped."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.grpc import paging
from service._gen.erp.orders.v1 import order_pb2
from service.domain.errors import InvalidArgument
from service.domain.model import PageResult


def test_page_size_defaults_to_50_and_is_capped_at_1000() -> None:
    assert paging.page_of(order_pb2.ListOrdersRequest()).size == 50
    assert paging.page_of(order_pb2.ListOrdersRequest(page_size=5000)).size == 1000
    assert paging.page_of(order_pb2.ListOrdersRequest(page_size=7)).size == 7


def test_a_token_round_trips_with_the_same_filters_whatever_the_page_size() -> None:
    request = order_pb2.ListOrdersRequest(customer_id="4", status=order_pb2.ORDER_STATUS_PENDING, page_size=10)
    token = paging.next_token(request, "1234")
    follow = order_pb2.ListOrdersRequest(customer_id="4", status=order_pb2.ORDER_STATUS_PENDING, page_size=20, page_token=token)
    assert paging.page_of(follow).after == "1234"


def test_the_last_page_has_no_token() -> None:
    assert paging.next_token(order_pb2.ListOrdersRequest(), None) == ""


@pytest.mark.parametrize("token", ["garbage", "eyJ4IjoxfQ", "W10", "e30"])
def test_tokens_the_service_did_not_issue_are_invalid(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        paging.page_of(order_pb2.ListOrdersRequest(page_token=token))
    assert caught.value.violations[0].reason == "INVALID_PAGE_TOKEN"


def test_a_token_used_with_other_filters_is_invalid() -> None:
    token = paging.next_token(order_pb2.ListOrdersRequest(customer_id="4"), "99")
    with pytest.raises(InvalidArgument) as caught:
        paging.page_of(order_pb2.ListOrdersRequest(customer_id="5", page_token=token))
    assert caught.value.violations[0].reason == "PAGE_TOKEN_FILTER_MISMATCH"


@dataclass(frozen=True)
class _Item:
    id: str
    note: str


def _note_message(item: _Item) -> order_pb2.Order:
    return order_pb2.Order(id=item.id, note=item.note)


def test_a_page_stops_before_the_item_that_would_overflow_and_resumes_after_the_last_one_sent() -> None:
    request = order_pb2.ListOrdersRequest(page_size=10)
    items = [_Item(str(i), "n" * 1000) for i in range(10, 0, -1)]
    pager = paging.Pager(max_response_bytes=4 * 1024)  # three 1 KB items fit next to the token's room
    sent, token = pager.fit(request, PageResult(items, next_after=None), _note_message)
    assert [m.id for m in sent] == ["10", "9", "8"]
    assert paging.page_of(order_pb2.ListOrdersRequest(page_size=10, page_token=token)).after == "8"


def test_a_page_that_fits_keeps_the_storage_cursor_and_one_huge_item_still_goes_alone() -> None:
    request = order_pb2.ListOrdersRequest()
    small = paging.Pager(max_response_bytes=64 * 1024).fit(request, PageResult([_Item("2", "x")], "2"), _note_message)
    assert ([m.id for m in small[0]], paging.page_of(order_pb2.ListOrdersRequest(page_token=small[1])).after) == (["2"], "2")
    huge = paging.Pager(max_response_bytes=2048).fit(request, PageResult([_Item("9", "n" * 4000), _Item("8", "")], None), _note_message)
    assert [m.id for m in huge[0]] == ["9"]
    assert paging.page_of(order_pb2.ListOrdersRequest(page_token=huge[1])).after == "9"
