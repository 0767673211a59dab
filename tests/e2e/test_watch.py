"""WatchOrderEvents over real gRPC: resumed exactly after a token across a restart, and a watch of one
order. Refusals before the stream starts are tested in tests/unit/test_api_watch.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine

from service import watch
from service._gen.erp.orders.v1 import events_pb2, events_pb2_grpc, order_pb2
from service.methods import ORDERS_READ
from service.settings import Settings
from storage.outbox import StoredEvent
from tests.conftest import running_server, server_settings
from tests.helpers import Stubs, authorized_channel, token

EVENT_TYPES = {events_pb2.ORDER_EVENT_TYPE_CREATED: "created", events_pb2.ORDER_EVENT_TYPE_STATUS_CHANGED: "moved",
               events_pb2.ORDER_EVENT_TYPE_CANCELED: "canceled"}


@contextmanager
def _watch(port: int, roles: tuple[str, ...] = (ORDERS_READ,), **request: str) -> Iterator[Any]:
    """An open stream, returned once the server has subscribed it (its headers arrived)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = events_pb2_grpc.OrderEventServiceStub(channel).WatchOrderEvents(
            events_pb2.WatchOrderEventsRequest(**request), timeout=60,
            metadata=[("authorization", f"Bearer {token('watcher', roles)}")],
        )
        call.initial_metadata()
        try:
            yield call
        finally:
            call.cancel()


def _next(call: Any, n: int) -> list[events_pb2.OrderEvent]:
    return [next(call) for _ in range(n)]


def _kinds(events: list[events_pb2.OrderEvent]) -> list[tuple[str, str, int]]:
    return [(e.order_id, EVENT_TYPES[e.type], e.sequence) for e in events]


@pytest.fixture
def writer(server: Any) -> Iterator[Stubs]:
    with authorized_channel(server.port, token("writer")) as channel:
        yield Stubs.on(channel)


def _settings(mysql_url: str, **overrides: object) -> Settings:
    return server_settings(mysql_url, watch_poll_interval_s=0.02, **overrides)


def test_a_watch_resumes_exactly_after_its_token_across_a_server_restart(
    mysql_url: str, engine: Engine, writer: Stubs
) -> None:
    customer = writer.customer()
    product = writer.product(stock=50)
    with running_server(_settings(mysql_url), None) as first:
        with _watch(first.port, customer_id=customer.id) as live:
            a = writer.order(customer.id, (product.id, 1))
            b = writer.order(customer.id, (product.id, 2))
            writer.orders.UpdateOrderStatus(order_pb2.UpdateOrderStatusRequest(id=a.id, status=order_pb2.ORDER_STATUS_CONFIRMED, reason="ok"))
            seen = _next(live, 3)
    assert _kinds(seen) == [(a.id, "created", 1), (b.id, "created", 1), (a.id, "moved", 2)]
    assert seen[2].order.status == order_pb2.ORDER_STATUS_CONFIRMED and all(e.resume_token for e in seen)
    # While no watcher's server runs, more changes commit.
    writer.orders.CancelOrder(order_pb2.CancelOrderRequest(id=b.id, reason="changed mind"))
    c = writer.order(customer.id, (product.id, 1))
    with running_server(_settings(mysql_url), None) as second:
        with _watch(second.port, customer_id=customer.id, resume_token=seen[1].resume_token) as stream:
            resumed = _next(stream, 3)
    assert _kinds(resumed) == [(a.id, "moved", 2), (b.id, "canceled", 2), (c.id, "created", 1)]


def test_a_watch_of_one_order_sees_only_that_order(mysql_url: str, writer: Stubs, server: Any) -> None:
    customer, product = writer.customer(), writer.product(stock=10)
    a = writer.order(customer.id, (product.id, 1))
    with _watch(server.port, order_id=a.id) as live:
        writer.order(customer.id, (product.id, 1))
        writer.orders.CancelOrder(order_pb2.CancelOrderRequest(id=a.id, reason="changed mind"))
        (event,) = _next(live, 1)
    assert _kinds([event]) == [(a.id, "canceled", 2)] and event.order.status == order_pb2.ORDER_STATUS_CANCELED


def _expired_token() -> str:
    old = StoredEvent(1, "order", 1, 1, "order.created", 1, b"", datetime.now(UTC) - timedelta(days=30))
    return watch.token(old)
