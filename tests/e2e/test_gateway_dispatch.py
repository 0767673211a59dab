"""What the in-process gateway of `serve` must answer exactly as a gRPC call would: a deadline that
passes while the call runs, and calls beyond the concurrent-call limit (service/grpc/dispatch.py)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import product_pb2
from service.runtime import http_server as rest
from service.settings import Settings
from tests.conftest import BOTH_BACKENDS, CHANNEL, IN_PROCESS, gateway_backend, running_server, server_settings
from tests.helpers import Stubs, authorized_channel, lock_waits, token, until

GATEWAY_BACKENDS = BOTH_BACKENDS


def _adjust(product_id: str) -> tuple[str, dict[str, str]]:
    return f"/v1/products/{product_id}:adjustStock", {"delta": "1", "reason": "recount"}


def _locked(engine: Engine, product_id: str) -> Any:
    holder = engine.connect()
    holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product_id)})
    return holder


def test_a_deadline_that_passes_while_the_call_waits_is_504_at_the_deadline(
    http: httpx.Client, channel: grpc.Channel, engine: Engine
) -> None:
    product = Stubs.on(channel).product(stock=5)
    path, body = _adjust(product.id)
    holder = _locked(engine, product.id)
    try:
        # Answered while the row is still locked: the gateway does not wait for the handler.
        reply = http.post(path, json=body, headers={"Grpc-Timeout": "300m"})
    finally:
        holder.rollback()
        holder.close()
    error = reply.json()["error"]
    assert (reply.status_code, error["status"], error["message"]) == (504, "DEADLINE_EXCEEDED", "Deadline Exceeded")
    assert [d["reason"] for d in error["details"]] == ["DEADLINE_EXCEEDED"]


@pytest.fixture
def small_server(mysql_url: str, engine: Engine, redis_url: str) -> Iterator[tuple[Settings, Any]]:
    settings = server_settings(
        mysql_url, redis_url=redis_url, grpc_workers=6, open_streams_max=1, grpc_max_concurrent_rpcs=2,
        db_lock_wait_timeout_s=30, http_host="127.0.0.1", http_port=0,
    )
    with running_server(settings, engine) as running:
        yield settings, running


def test_calls_beyond_the_concurrent_call_limit_are_refused_over_rest_as_over_grpc(
    small_server: tuple[Settings, Any], engine: Engine, observer: Engine
) -> None:
    settings, running = small_server
    gateways = {kind: rest.start(settings, gateway_backend(kind, settings, running)) for kind in (IN_PROCESS, CHANNEL)}
    headers = {"Authorization": f"Bearer {token('overload')}"}
    clients = {kind: httpx.Client(base_url=f"http://127.0.0.1:{g.port}", timeout=30, headers=headers) for kind, g in gateways.items()}
    try:
        with authorized_channel(running.port, token("overload")) as grpc_channel, ThreadPoolExecutor(4) as pool:
            stubs = Stubs.on(grpc_channel)
            product = stubs.product(stock=5)
            path, body = _adjust(product.id)
            request = product_pb2.AdjustStockRequest(id=product.id, delta=1, reason="recount")
            holder = _locked(engine, product.id)
            try:
                # The limit is two in flight, for the in-process calls and for the gRPC server's own.
                held = [pool.submit(clients[IN_PROCESS].post, path, json=body) for _ in range(2)]
                held_grpc = [pool.submit(stubs.products.AdjustStock, request) for _ in range(2)]
                until(lambda: lock_waits(observer) == 4, "four calls wait for the locked row")
                refused = {kind: client.post(path, json=body) for kind, client in clients.items()}
                with pytest.raises(grpc.RpcError) as over_grpc:
                    stubs.products.AdjustStock(request)
            finally:
                holder.rollback()
                holder.close()
            assert [f.result(timeout=30).status_code for f in held] == [200, 200]
            assert [f.result(timeout=30).product.id for f in held_grpc] == [product.id] * 2
            # Each call gives its place back when it ends, refused or not.
            assert clients[IN_PROCESS].post(path, json=body).status_code == 200
    finally:
        for client in clients.values():
            client.close()
        for gateway in gateways.values():
            rest.stop(gateway)
    assert (over_grpc.value.code(), over_grpc.value.details()) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "Concurrent RPC limit exceeded!")  # type: ignore[attr-defined]
    in_process, over_channel = refused[IN_PROCESS], refused[CHANNEL]
    assert (in_process.status_code, in_process.headers["retry-after"]) == (429, "1")
    assert in_process.json() == over_channel.json()
    assert in_process.json()["error"]["message"] == "Concurrent RPC limit exceeded!"
