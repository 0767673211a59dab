"""A watcher whose client stops reading is ended, counting what the transport holds for it: over gRPC
(its stream waits inside HTTP/2 flow control) and over SSE (the gateway's write buffer)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import Engine, insert

from service._gen.erp.orders.v1 import events_pb2
from storage.schema import outbox_events
from tests.conftest import running_server
from tests.e2e.test_watch import _settings, _watch
from tests.e2e.test_watch_sse import PATH, _gateway
from tests.helpers import rich, token, until

EVENT_BYTES = 100_000
EVENTS = 120  # 12 MB: more than the socket buffers of a loopback connection and the queue take


def _big_events(engine: Engine, customer_id: int) -> None:
    """EVENTS order events of about EVENT_BYTES each for one customer, one transaction each: the
    stream keeps its queue empty while the transport takes them, until the transport is full."""
    payload = events_pb2.OrderEvent(order_id="1", sequence=1, actor="x" * EVENT_BYTES).SerializeToString()
    for _ in range(EVENTS):
        with engine.begin() as conn:
            conn.execute(insert(outbox_events).values(
                aggregate_type="order", aggregate_id=random.randrange(10**15), sequence=1, type="order.created",
                customer_id=customer_id, payload=payload, create_time=datetime.now(UTC),
            ))


def _can_watch(port: int, principal: str) -> bool:
    """Whether the principal gets a watch slot now (it has one only: the stalled watch's, once ended)."""
    try:
        with _watch(port, principal=principal):
            return True
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
        return False


def _settings_with_one_slot(mysql_url: str) -> Any:
    return _settings(mysql_url, watch_queue_size=20, watch_max_per_principal=1)


def test_a_grpc_watcher_that_reads_nothing_is_ended_and_resumes_from_its_last_event(mysql_url: str, engine: Engine) -> None:
    customer = random.randrange(10**15)
    with running_server(_settings_with_one_slot(mysql_url), None) as server:
        with _watch(server.port, principal="stalled", customer_id=str(customer)) as stalled:
            _big_events(engine, customer)
            # Ended while its client still reads nothing: its slot is free again.
            until(lambda: _can_watch(server.port, "stalled"), "the stalled watch is ended", seconds=60, every=0.5)
            got: list[events_pb2.OrderEvent] = []
            with pytest.raises(grpc.RpcError) as ended:
                got.extend(stalled)
        # Ended by its own stream the next time the transport took an event from it, or, if it waited
        # inside the transport, by the feed: then the client sees CANCELLED after the events sent.
        error = rich(ended.value)
        assert (error.code, error.reason, error.metadata.get("resume_token")) in (
            (grpc.StatusCode.ABORTED, "WATCH_TOO_SLOW", got[-1].resume_token), (grpc.StatusCode.CANCELLED, "", None)
        )
        assert 0 < len(got) < EVENTS
        with _watch(server.port, principal="stalled", customer_id=str(customer), resume_token=got[-1].resume_token) as rest:
            assert len(got) + sum(1 for _ in _take(rest, EVENTS - len(got))) == EVENTS


def _take(call: Iterator[Any], n: int) -> Iterator[Any]:
    for _ in range(n):
        yield next(call)


def test_an_event_stream_that_reads_nothing_ends_with_watch_too_slow_and_its_token(mysql_url: str, engine: Engine) -> None:
    customer = random.randrange(10**15)
    settings = _settings_with_one_slot(mysql_url)
    with _gateway(settings) as (url, port), httpx.Client(base_url=url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {token('stalled')}"}
        with http.stream("GET", PATH, params={"customerId": str(customer)}, headers=headers) as live:
            assert live.status_code == 200
            _big_events(engine, customer)
            until(lambda: _can_watch(port, "stalled"), "the stalled event stream is ended", seconds=60, every=0.5)
            events, error = [], None
            name = ""
            for line in live.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    if name == "error":
                        error = json.loads(line[6:])["error"]
                    else:
                        events.append(json.loads(line[6:]))
                    name = ""
    assert error is not None and 0 < len(events) < EVENTS
    assert (error["code"], error["status"]) == (409, "ABORTED")
    info = next(d for d in error["details"] if d.get("reason"))
    assert info["reason"] == "WATCH_TOO_SLOW" and info["metadata"]["resume_token"] == events[-1]["resumeToken"]
