"""WatchOrderEvents through the REST gateway: Server-Sent Events whose id is the resume token, and
a reconnect with Last-Event-ID resumes exactly after it."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import timedelta
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from service._gen.erp.orders.v1 import order_pb2
from service.runtime import http_server as rest
from service.settings import Settings
from tests.conftest import running_server
from chaos.transports import CallError, GrpcTransport, RestTransport
from chaos.workload import forged_resume_token
from tests.e2e.test_watch import SIGNER, _settings, forged_tokens, stored_event
from tests.helpers import Stubs, authorized_channel, token

PATH = "/v1/orderEvents:watch"


def _events(lines: Iterator[str], n: int) -> list[tuple[str, dict[str, Any]]]:
    """The next n events of an event stream, as (id, data)."""
    out: list[tuple[str, dict[str, Any]]] = []
    event_id, data = "", []
    for line in lines:
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            out.append((event_id, json.loads("\n".join(data))))
            event_id, data = "", []
            if len(out) == n:
                return out
    raise AssertionError(f"the stream ended after {len(out)} of {n} events")


def test_an_event_stream_resumes_exactly_after_its_last_event_id(gateway: Any, server: Any) -> None:
    headers = {"Authorization": f"Bearer {token('sse-watcher')}"}
    with authorized_channel(server.port, token("sse-writer")) as channel, httpx.Client(
        base_url=f"http://127.0.0.1:{gateway.port}", timeout=30, headers=headers
    ) as http:
        writer = Stubs.on(channel)
        customer, product = writer.customer(), writer.product(stock=20)
        with http.stream("GET", PATH, params={"customerId": customer.id}) as live:
            # The gateway answers only once the server has subscribed the watch.
            assert live.status_code == 200 and live.headers["content-type"].startswith("text/event-stream")
            a = writer.order(customer.id, (product.id, 1))
            writer.orders.UpdateOrderStatus(order_pb2.UpdateOrderStatusRequest(id=a.id, status=order_pb2.ORDER_STATUS_CONFIRMED, reason="ok"))
            first, second = _events(live.iter_lines(), 2)
        assert first[1]["orderId"] == a.id and first[1]["type"] == "ORDER_EVENT_TYPE_CREATED" and first[1]["sequence"] == "1"
        assert first[0] == first[1]["resumeToken"] and second[1]["order"]["status"] == "ORDER_STATUS_CONFIRMED"
        writer.orders.CancelOrder(order_pb2.CancelOrderRequest(id=a.id, reason="changed mind"))
        with http.stream("GET", PATH, params={"customerId": customer.id}, headers={"Last-Event-ID": first[0]}) as resumed:
            again = _events(resumed.iter_lines(), 2)
    assert [(e["sequence"], e["type"]) for _, e in again] == [("2", "ORDER_EVENT_TYPE_STATUS_CHANGED"), ("3", "ORDER_EVENT_TYPE_CANCELED")]


@contextmanager
def _gateway(settings: Settings) -> Iterator[tuple[str, int]]:
    """A server of its own with its gateway: the gateway's base URL, and the server's gRPC port."""
    with running_server(settings, None) as server:
        gateway_settings = dataclasses.replace(settings, http_host="127.0.0.1", http_port=0)
        gateway = rest.start(gateway_settings, rest.channel(gateway_settings, f"127.0.0.1:{server.port}"))
        try:
            yield f"http://127.0.0.1:{gateway.port}", server.port
        finally:
            rest.stop(gateway)


@contextmanager
def _event_stream(settings: Settings, **params: str) -> Iterator[Iterator[str]]:
    """A server of its own with its gateway, and an open event stream through it (its lines)."""
    headers = {"Authorization": f"Bearer {token('sse-watcher')}"}
    if "last_event_id" in params:
        headers["Last-Event-ID"] = params.pop("last_event_id")
    with _gateway(settings) as (url, _), httpx.Client(base_url=url, timeout=30, headers=headers) as http, http.stream(
        "GET", PATH, params=params
    ) as live:
        assert live.status_code == 200
        yield live.iter_lines()


def test_an_event_stream_resumes_after_its_last_event_id_on_a_restarted_server(mysql_url: str, server: Any) -> None:
    with authorized_channel(server.port, token("sse-writer")) as channel:
        writer = Stubs.on(channel)
        customer, product = writer.customer(), writer.product(stock=20)
        with _event_stream(_settings(mysql_url), customerId=customer.id) as lines:
            a, b = writer.order(customer.id, (product.id, 1)), writer.order(customer.id, (product.id, 1))
            seen = _events(lines, 2)
        # No server of the watcher's runs while these commit.
        writer.orders.CancelOrder(order_pb2.CancelOrderRequest(id=a.id, reason="changed mind"))
        c = writer.order(customer.id, (product.id, 1))
        with _event_stream(_settings(mysql_url), customerId=customer.id, last_event_id=seen[0][0]) as lines:
            resumed = _events(lines, 3)
    assert [(e["orderId"], e["sequence"]) for _, e in seen] == [(a.id, "1"), (b.id, "1")]
    assert [(e["orderId"], e["type"]) for _, e in resumed] == [
        (b.id, "ORDER_EVENT_TYPE_CREATED"), (a.id, "ORDER_EVENT_TYPE_CANCELED"), (c.id, "ORDER_EVENT_TYPE_CREATED"),
    ]


def test_an_expired_token_is_refused_before_the_stream_starts(http: httpx.Client, engine: Engine) -> None:
    refused = http.get(PATH, params={"resumeToken": SIGNER.token(stored_event(engine))})
    assert refused.status_code == 400 and refused.headers["content-type"] == "application/json"
    assert refused.json()["error"]["details"][0]["reason"] == "RESUME_TOKEN_EXPIRED"


def test_a_forged_token_or_last_event_id_is_a_400_with_its_reason(http: httpx.Client) -> None:
    for forged in forged_tokens(seed=2022, count=40):
        asked = [{"params": {"resumeToken": forged}}]
        if forged.isascii():
            asked.append({"headers": {"Last-Event-ID": forged}})
        for how in asked:
            refused = http.get(PATH, **how)  # type: ignore[arg-type]
            assert refused.status_code == 400, (forged, how, refused.text)
            assert refused.json()["error"]["details"][0]["reason"] == "RESUME_TOKEN_INVALID", forged


def test_a_principal_past_its_share_of_the_watch_slots_gets_a_429(mysql_url: str) -> None:
    settings = _settings(mysql_url, watch_max_streams=4, watch_max_per_principal=1)
    with _gateway(settings) as (url, _), httpx.Client(base_url=url, timeout=30) as http:
        greedy, other = ({"Authorization": f"Bearer {token(who)}"} for who in ("greedy", "other"))
        with http.stream("GET", PATH, headers=greedy) as first, http.stream("GET", PATH, headers=other) as second:
            assert first.status_code == second.status_code == 200
            refused = http.get(PATH, headers=greedy)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert refused.json()["error"]["details"][0]["reason"] == "TOO_MANY_WATCHERS_OF_PRINCIPAL"


def test_the_chaos_clients_forged_watch_is_refused_and_a_real_token_accepted_over_both_transports(
    gateway: Any, server: Any, engine: Engine
) -> None:
    real = SIGNER.token(stored_event(engine, age=timedelta(0)))
    for transport in (GrpcTransport(f"127.0.0.1:{server.port}", token("chaos")), RestTransport(f"http://127.0.0.1:{gateway.port}", token("chaos"))):
        try:
            for seed in range(20):
                with pytest.raises(CallError) as refused:
                    transport.watch(forged_resume_token(random.Random(seed)))
                assert (refused.value.code, refused.value.reason) == ("INVALID_ARGUMENT", "RESUME_TOKEN_INVALID")
            assert transport.watch(real) == {"accepted": True}
        finally:
            transport.close()
