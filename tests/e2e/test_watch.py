"""WatchOrderEvents over real gRPC: resumed exactly after a token across a restart, and a watch of one
order. Refusals before the stream starts are tested in tests/unit/test_api_watch.py."""

from __future__ import annotations

import base64
import random
import string
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine, delete, insert

from service.events.resume_tokens import Signer
from service._gen.erp.orders.v1 import events_pb2, events_pb2_grpc, order_pb2
from service.grpc.methods import ORDERS_READ
from service.settings import Settings
from storage.schema import outbox_events
from tests.conftest import running_server, server_settings
from tests.helpers import TEST_SECRET, RichError, Stubs, authorized_channel, rich, token

EVENT_TYPES = {events_pb2.ORDER_EVENT_TYPE_CREATED: "created", events_pb2.ORDER_EVENT_TYPE_STATUS_CHANGED: "moved",
               events_pb2.ORDER_EVENT_TYPE_CANCELED: "canceled"}


@contextmanager
def _watch(port: int, roles: tuple[str, ...] = (ORDERS_READ,), principal: str = "watcher", **request: str) -> Iterator[Any]:
    """An open stream, returned once the server has subscribed it (its headers arrived)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = events_pb2_grpc.OrderEventServiceStub(channel).WatchOrderEvents(
            events_pb2.WatchOrderEventsRequest(**request), timeout=60,
            metadata=[("authorization", f"Bearer {token(principal, roles)}")],
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


SIGNER = Signer([TEST_SECRET])  # the server's: tests/conftest.py's servers sign with their JWT secret


def stored_event(engine: Engine, age: timedelta = timedelta(days=30)) -> int:
    """The position of an event that happened `age` ago (by default older than the retention, not yet pruned)."""
    with engine.begin() as conn:
        return int(conn.execute(insert(outbox_events).values(
            aggregate_type="order", aggregate_id=random.randrange(10**15), sequence=1, type="order.created",
            customer_id=1, payload=b"", create_time=datetime.now(UTC) - age,
        )).inserted_primary_key[0])


def _refusal(port: int, resume_token: str) -> RichError:
    with pytest.raises(grpc.RpcError) as refused, _watch(port, resume_token=resume_token) as stream:
        next(stream)
    return rich(refused.value)


def test_a_token_whose_event_is_older_than_the_retention_or_pruned_is_expired(server: Any, engine: Engine) -> None:
    # The service judges a token's age from its outbox row: the token itself holds no time to trust.
    old = stored_event(engine)
    expired = (grpc.StatusCode.FAILED_PRECONDITION, "RESUME_TOKEN_EXPIRED")
    assert (error := _refusal(server.port, SIGNER.token(old))).code == expired[0] and error.reason == expired[1]
    with engine.begin() as conn:
        conn.execute(delete(outbox_events).where(outbox_events.c.id == old))  # as the relay prunes it
    assert (error := _refusal(server.port, SIGNER.token(old))).code == expired[0] and error.reason == expired[1]


def _b64(text: str | bytes) -> str:
    return base64.urlsafe_b64encode(text.encode() if isinstance(text, str) else text).decode().rstrip("=")


def forged_tokens(seed: int, count: int) -> list[str]:
    """Tokens the service never issued: the old unsigned shapes (a whole-outbox replay, a position
    too large for any integer type, negative ones), ours signed with another key or cut short, and random text."""
    now = int(time.time() * 1_000_000)
    ours = SIGNER.token(1)
    crafted = [
        _b64("1." + "9" * 90), _b64(f"0.{now}"), _b64(f"-5.{now}"), _b64(f"{2**70}.{now}"), "not-a-token",
        Signer(["another key"]).token(1), ours[:-1], ours + "A", ours[:-2] + ("AA" if ours[-2:] != "AA" else "BB"),
        _b64(b"\x01" + (2**64 - 1).to_bytes(8, "big") + bytes(16)), _b64(bytes(25)), "=" * 34, "é" * 34,
    ]
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_=.+/ "
    noise = [_b64(rng.randbytes(rng.randint(1, 95))) if i % 2 else "".join(rng.choices(alphabet, k=rng.randint(1, 128)))
             for i in range(count)]
    return crafted + noise


def test_a_token_the_service_did_not_issue_is_invalid_argument_whatever_its_shape(server: Any) -> None:
    for forged in forged_tokens(seed=22, count=40):
        error = _refusal(server.port, forged)
        assert (error.code, error.reason, error.field_violations) == (
            grpc.StatusCode.INVALID_ARGUMENT, "RESUME_TOKEN_INVALID", {"resume_token": "RESUME_TOKEN_INVALID"}
        ), forged


def test_one_principal_holds_at_most_its_share_of_the_watch_slots(mysql_url: str) -> None:
    with running_server(_settings(mysql_url, watch_max_streams=4, watch_max_per_principal=2), None) as server, ExitStack() as open_:
        for _ in range(2):
            open_.enter_context(_watch(server.port, principal="greedy"))
        with pytest.raises(grpc.RpcError) as refused, _watch(server.port, principal="greedy") as stream:
            next(stream)
        error = rich(refused.value)
        assert (error.code, error.reason, error.metadata["limit"], error.has_retry_info) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_WATCHERS_OF_PRINCIPAL", "2", True
        )
        for _ in range(2):  # the other slots stay for everyone else
            open_.enter_context(_watch(server.port, principal="another"))

