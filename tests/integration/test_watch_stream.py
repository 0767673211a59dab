"""The watch stream's end when it falls behind: WATCH_TOO_SLOW with the token of its position."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy import Engine, insert

from service.events.resume_tokens import Signer
from service.events.servicer import OrderEventServicer
from service.events.watch import Feed, Filter
from storage.schema import outbox_events


class _Aborted(Exception):
    pass


class _Context:
    """What the stream uses of a grpc.ServicerContext: it is active until aborted."""

    def __init__(self) -> None:
        self.status: grpc.Status | None = None

    def is_active(self) -> bool:
        return True

    def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status
        raise _Aborted


def _error_info(status: grpc.Status) -> error_details_pb2.ErrorInfo:
    packed = status_pb2.Status.FromString(dict(status.trailing_metadata)["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in packed.details)
    return info


def test_a_watch_that_overflows_before_delivering_anything_ends_with_the_token_of_where_it_started(engine: Engine) -> None:
    with engine.begin() as conn:  # the outbox is not empty: the watch starts after this event
        conn.execute(insert(outbox_events).values(
            aggregate_type="order", aggregate_id=1, sequence=10**9, type="order.created", customer_id=1, payload=b"",
            create_time=datetime.now(UTC),
        ))
    signer, feed = Signer(["k"]), Feed(engine, 0.01, 1.0, 1)
    sub = feed.subscribe(Filter(customer_id=-1))
    try:
        sub.overflowed = True
        context: Any = _Context()
        with pytest.raises(_Aborted):
            next(OrderEventServicer(feed, signer, 3600.0, (4, 4))._stream(sub, None, context))
    finally:
        feed.stop()
    info = _error_info(context.status)
    assert (context.status.code, info.reason) == (grpc.StatusCode.ABORTED, "WATCH_TOO_SLOW")
    assert signer.position(info.metadata["resume_token"]) == sub.start > 0
