"""Page tokens: opaque, bound to their filters, and page sizes defaulted and capped."""

from __future__ import annotations

import pytest

from service import paging
from service._gen.erp.orders.v1 import order_pb2
from service.domain.errors import InvalidArgument


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
