"""Resuming WatchOrderEvents delivers every event after the token once, and nothing at or before it:
whichever process serves the resume, and when an outbox id commits after later ones."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Engine, insert, select

from bench.server import ServiceProcess, running_service
from service._gen.erp.orders.v1 import events_pb2
from storage.schema import outbox_events
from tests.conftest import running_server
from tests.e2e.test_watch import SIGNER, _settings, _watch
from tests.e2e.test_watch_sse import PATH
from tests.helpers import TEST_SECRET, Stubs, authorized_channel, token


@contextmanager
def _grpc_tokens(process: ServiceProcess, customer_id: str, resume_token: str) -> Iterator[Iterator[str]]:
    """The resume tokens of a watch's events, once the server has subscribed it."""
    with _watch(process.port, customer_id=customer_id, resume_token=resume_token) as call:
        yield (event.resume_token for event in call)


@contextmanager
def _sse_tokens(process: ServiceProcess, customer_id: str, resume_token: str) -> Iterator[Iterator[str]]:
    """The same through the process's gateway, reconnecting as an EventSource does (Last-Event-ID)."""
    headers = {"Authorization": f"Bearer {token('watcher')}", **({"Last-Event-ID": resume_token} if resume_token else {})}
    with httpx.Client(base_url=f"http://127.0.0.1:{process.http_port}", timeout=30, headers=headers) as http, http.stream(
        "GET", PATH, params={"customerId": customer_id}
    ) as live:
        assert live.status_code == 200
        yield (line.removeprefix("id: ") for line in live.iter_lines() if line.startswith("id: "))


@pytest.mark.parametrize("tokens", [_grpc_tokens, _sse_tokens], ids=["grpc", "sse"])
def test_reconnecting_after_every_event_on_alternating_processes_delivers_each_event_once(
    mysql_url: str, engine: Engine, tmp_path: Path, tokens: Callable[[ServiceProcess, str, str], Any]
) -> None:
    env = {"ORDERS_JWT_SECRET": TEST_SECRET, "ORDERS_RATE_LIMIT_READ": "off", "ORDERS_RATE_LIMIT_WRITE": "off",
           "ORDERS_SHUTDOWN_GRACE_S": "1", "ORDERS_LOG_LEVEL": "WARNING", "ORDERS_REDIS_KEY_PREFIX": f"watch-{uuid.uuid4().hex[:8]}:"}
    with ExitStack() as stack:
        processes = [stack.enter_context(running_service(mysql_url, env, tmp_path / f"{name}.log")) for name in "ab"]
        writers = [Stubs.on(stack.enter_context(authorized_channel(p.port, token("writer")))) for p in processes]
        customer, product = writers[0].customer(), writers[0].product(stock=10_000)
        for p in processes:  # other watchers keep each process's feed running, each at its own pace
            stack.enter_context(_watch(p.port, customer_id=customer.id))
        stop = threading.Event()

        def write(stubs: Stubs) -> None:
            for _ in range(150):
                if stop.is_set():
                    return
                stubs.order(customer.id, (product.id, 1))

        threads = [threading.Thread(target=write, args=(w,)) for w in writers]
        received: list[str] = []
        with tokens(processes[0], customer.id, "") as first:
            for thread in threads:
                thread.start()
            received.append(next(first))
        try:
            while len(received) < 60:
                with tokens(processes[len(received) % 2], customer.id, received[-1]) as resumed:
                    received.append(next(resumed))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    positions = [SIGNER.position(t) or 0 for t in received]
    with engine.connect() as conn:
        stored = list(conn.execute(select(outbox_events.c.id).where(
            outbox_events.c.customer_id == int(customer.id), outbox_events.c.id.between(positions[0], positions[-1])
        ).order_by(outbox_events.c.id)).scalars())
    assert positions == stored and len(stored) == 60  # every event between the first and the last once, in outbox order


def _late_event(conn: Connection, customer_id: str) -> str:
    """Inserts an order event for the customer in `conn`'s open transaction; returns its order id."""
    order_id = str(random.randrange(10**12, 10**15))
    payload = events_pb2.OrderEvent(order_id=order_id, sequence=1, type=events_pb2.ORDER_EVENT_TYPE_CREATED).SerializeToString()
    conn.execute(insert(outbox_events).values(
        aggregate_type="order", aggregate_id=int(order_id), sequence=1, type="order.created",
        customer_id=int(customer_id), payload=payload, create_time=datetime.now(UTC),
    ))
    return order_id


@contextmanager
def _two_servers(mysql_url: str) -> Iterator[tuple[int, int]]:
    # A gap grace longer than the test: the feeds hold at the open outbox id until it commits.
    settings = _settings(mysql_url, watch_gap_grace_s=120.0)
    with running_server(settings, None) as a, running_server(settings, None) as b:
        yield a.port, b.port


def test_an_outbox_id_that_commits_late_is_delivered_once_and_never_brings_back_a_token_s_own_event(
    mysql_url: str, engine: Engine, server: Any
) -> None:
    with authorized_channel(server.port, token("writer")) as channel:
        writer = Stubs.on(channel)
        customer, product = writer.customer(), writer.product(stock=50)

        def order() -> str:
            return writer.order(customer.id, (product.id, 1)).id

        _order_late(mysql_url, engine, order, customer.id)


def _order_late(mysql_url: str, engine: Engine, order: Callable[[], str], customer_id: str) -> None:
    with _two_servers(mysql_url) as (a, b), _watch(b, customer_id=customer_id) as live, engine.connect() as held:
        o0 = order()
        (first,) = [next(live)]
        held.begin()
        late = _late_event(held, customer_id)  # takes an outbox id, commits after the next ones
        o1 = order()
        with _watch(a, customer_id=customer_id) as fresh:  # a's feed starts past the open id
            o2 = order()
            on_a = next(fresh)
        # b's feed still holds at the open id, before o1 and o2: resuming there must not bring o2 back.
        with _watch(b, customer_id=customer_id, resume_token=on_a.resume_token) as resumed:
            held.commit()
            o3 = order()
            after_o2 = next(resumed)
        live_seen = [first, *(next(live) for _ in range(4))]
        with _watch(a, customer_id=customer_id, resume_token=first.resume_token) as again:
            replayed = [next(again) for _ in range(4)]
    assert on_a.order_id == o2 and after_o2.order_id == o3
    assert [e.order_id for e in live_seen] == [o0, late, o1, o2, o3]
    assert [e.order_id for e in replayed] == [late, o1, o2, o3]
