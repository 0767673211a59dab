"""The sync's keyset position: (update_time, id) as text, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.domain.model import Order, OrderStatus, parse_update_cursor, update_cursor


def test_an_update_cursor_reads_back_as_the_orders_update_time_to_the_microsecond_and_id() -> None:
    when = datetime(2026, 12, 6, 21, 30, 1, 123456, tzinfo=UTC)
    order = Order("123456789", "1", OrderStatus.PENDING, [], "BRL", "", when, when)
    assert parse_update_cursor(update_cursor(order)) == (when, 123456789)


@pytest.mark.parametrize("text", ["", "12", "12-", "-5", "a-5", "1-5-6", "١٢-5", "9" * 30 + "-1"])
def test_any_other_text_is_no_cursor(text: str) -> None:
    assert parse_update_cursor(text) is None
