"""Database trouble during a watch, in every phase (opening, catching up, live), is ABORTED or
UNAVAILABLE with a reason and RetryInfo, over gRPC and SSE alike, and never the driver's text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine, text

from service.runtime import bootstrap
from service.domain.errors import LockContention
from service.events.watch import Feed
from tests.conftest import running_server, server_settings
from tests.e2e.test_watch import _refusal, _settings, _watch
from tests.e2e.test_watch_sse import _event_stream
from tests.helpers import RichError, Stubs, authorized_channel, rich, token

DRIVER_TEXT = ("lock wait", "select", "outbox", "mysql", "1205", "(")


@contextmanager
def _outbox_locked(engine: Engine) -> Iterator[None]:
    """The outbox table write-locked: every read of it waits, past the servers' 1 s lock-wait timeout."""
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLES outbox_events WRITE"))
        try:
            yield
        finally:
            conn.execute(text("UNLOCK TABLES"))


def _a_token(server: Any) -> str:
    """The resume token of an event that exists."""
    with authorized_channel(server.port, token("writer")) as channel:
        writer = Stubs.on(channel)
        customer, product = writer.customer(), writer.product(stock=5)
        with _watch(server.port, customer_id=customer.id) as live:
            writer.order(customer.id, (product.id, 1))
            resume_token: str = next(live).resume_token
    return resume_token


def _retry_later(error: RichError) -> None:
    assert (error.code, error.reason, error.has_retry_info) == (grpc.StatusCode.ABORTED, "LOCK_CONTENTION", True)
    assert not any(word in error.message.lower() for word in DRIVER_TEXT), error.message


def test_a_new_a_resuming_and_a_live_watcher_meet_a_locked_outbox_as_aborted_with_retry_info(mysql_url: str, engine: Engine) -> None:
    with running_server(_settings(mysql_url, db_lock_wait_timeout_s=1), None) as server:
        resume_token = _a_token(server)
        with _watch(server.port) as live:
            with _outbox_locked(engine):
                _retry_later(_refusal(server.port, ""))
                _retry_later(_refusal(server.port, resume_token))
                with pytest.raises(grpc.RpcError) as ended:
                    next(live)
    _retry_later(rich(ended.value))


def test_a_catch_up_that_meets_a_locked_outbox_raises_lock_contention(mysql_url: str, engine: Engine) -> None:
    locked = bootstrap.engine(server_settings(mysql_url, db_lock_wait_timeout_s=1))
    try:
        with _outbox_locked(engine), pytest.raises(LockContention):
            next(Feed(locked, 0.01, 1.0, 10).history(0, 10**9))
    finally:
        locked.dispose()


def test_an_event_stream_that_meets_a_locked_outbox_ends_with_a_409_error_event(mysql_url: str, engine: Engine) -> None:
    settings = _settings(mysql_url, db_lock_wait_timeout_s=1)
    with _event_stream(settings) as lines, _outbox_locked(engine):
        event = [line for line in lines if line.startswith(("event: ", "data: "))][:2]
    assert event[0] == "event: error"
    body = json.loads(event[1].removeprefix("data: "))["error"]
    assert (body["code"], body["status"]) == (409, "ABORTED")
    assert {"LOCK_CONTENTION"} == {d["reason"] for d in body["details"] if "reason" in d}
    assert any(d["@type"].endswith("RetryInfo") for d in body["details"])
    assert not any(word in body["message"].lower() for word in DRIVER_TEXT), body["message"]
