"""Conversions written by hand for speed must agree with protobuf's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from service.grpc.convert import timestamp


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),  # before the epoch: negative seconds, positive nanos
        datetime(2026, 11, 29, 12, 0, 0, 123_456, tzinfo=UTC),
        datetime(2026, 11, 29, 12, 0, 0, 123_456),  # naive: read as UTC
        datetime(2026, 11, 29, 9, 0, 0, 1, tzinfo=timezone(timedelta(hours=-3))),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_timestamps_match_protobufs_from_datetime(value: datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)
    assert timestamp(value) == expected


def test_no_time_is_no_timestamp() -> None:
    assert timestamp(None) is None
