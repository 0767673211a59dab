"""The REST port's limits: slow and numerous clients are closed in time, and gRPC keeps serving meanwhile."""

from __future__ import annotations

import dataclasses
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from bench.server import ROOT, free_port, serving, service_env, stop
from service.redis import idempotency_store as idem
from service._gen.erp.orders.v1 import order_pb2, product_pb2
from service.runtime import http_server as rest
from service.settings import Settings
from tests.conftest import gateway_backend, running_server, server_settings
from tests.helpers import TEST_SECRET, Stubs, authorized_channel, token, until

_GET = b"GET /readyz HTTP/1.1\r\nHost: orders\r\n\r\n"
_HALF_HEADERS = b"GET /readyz HTTP/1.1\r\nHost: orders\r\n"


def _half_body() -> bytes:
    return (
        b"POST /v1/customers HTTP/1.1\r\nHost: orders\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        + f"Authorization: Bearer {token('slow')}\r\n\r\n".encode() + b'{"name": "'
    )


@pytest.fixture
def gateway_with(mysql_url: str, redis_url: str, engine: Engine) -> Iterator[Callable[..., tuple[int, Stubs]]]:
    """Starts a server and its gateway with these settings; returns the HTTP port and gRPC stubs."""
    with ExitStack() as stack:

        def _start(**overrides: object) -> tuple[int, Stubs]:
            settings = server_settings(mysql_url, redis_url=redis_url, http_host="127.0.0.1", http_port=0, **overrides)
            running = stack.enter_context(running_server(settings, engine))
            gateway = rest.start(settings, gateway_backend("in-process", settings, running))
            stack.callback(rest.stop, gateway)
            return gateway.port, Stubs.on(stack.enter_context(authorized_channel(running.port, token("limits"))))

        yield _start


def _connect(port: int, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if first:
        sock.sendall(first)
    return sock


def _until_closed(sock: socket.socket, within_s: float) -> tuple[bytes, float]:
    """What the server sent before it closed the connection, and when; fails if it stays open `within_s`."""
    started, received = time.monotonic(), b""
    sock.settimeout(within_s)
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the connection was still open after {within_s} s; received {received!r}")
    return received, time.monotonic() - started


def _answered(port: int) -> bool:
    try:
        with _connect(port, _GET) as sock:
            return sock.recv(4096).startswith(b"HTTP/1.1 ")
    except ConnectionResetError:
        return False


@pytest.mark.parametrize("sent", [b"", _HALF_HEADERS], ids=["nothing", "half the headers"])
def test_a_connection_that_does_not_finish_its_headers_is_closed_after_the_header_timeout(
    gateway_with: Callable[..., tuple[int, Stubs]], sent: bytes
) -> None:
    port, _ = gateway_with(http_header_timeout_s=1.0)
    with _connect(port, sent) as sock:
        received, after = _until_closed(sock, within_s=15)
    assert received in (b"", b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    assert after >= 0.5


def test_a_kept_alive_connection_whose_next_request_stalls_is_closed_after_the_header_timeout(
    gateway_with: Callable[..., tuple[int, Stubs]]
) -> None:
    port, _ = gateway_with(http_header_timeout_s=1.0, http_keep_alive_s=60.0)
    with _connect(port, _GET) as sock:
        assert sock.recv(4096).startswith(b"HTTP/1.1 ")
        sock.sendall(_HALF_HEADERS)
        _until_closed(sock, within_s=15)


def test_a_body_that_stalls_is_answered_408_and_closed(gateway_with: Callable[..., tuple[int, Stubs]]) -> None:
    port, stubs = gateway_with(http_body_timeout_s=1.0)
    with _connect(port, _half_body()) as sock:
        received, _ = _until_closed(sock, within_s=15)
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert stubs.products.ListProducts(product_pb2.ListProductsRequest(page_size=1)) is not None


def test_connections_over_the_cap_are_closed_at_once_while_grpc_serves(gateway_with: Callable[..., tuple[int, Stubs]]) -> None:
    port, stubs = gateway_with(http_max_connections=20, http_keep_alive_s=60.0)
    with ExitStack() as held:
        for _ in range(20):
            held.enter_context(_connect(port, _GET)).recv(4096)  # answered: counted
        for _ in range(5):
            with _connect(port, _GET) as refused:
                assert _until_closed(refused, within_s=5)[0] == b""
        assert stubs.products.ListProducts(product_pb2.ListProductsRequest(page_size=1)) is not None
    until(lambda: _answered(port), "the port serves again once the held connections closed")


def test_a_flood_of_bad_requests_writes_only_the_allowed_error_lines(
    gateway_with: Callable[..., tuple[int, Stubs]], caplog: pytest.LogCaptureFixture
) -> None:
    port, _ = gateway_with(http_error_log_lines=5, http_error_log_interval_s=3600.0)
    for _ in range(50):
        with _connect(port, b"NOT HTTP AT ALL\r\n\r\n") as sock:
            assert _until_closed(sock, within_s=5)[0].startswith(b"HTTP/1.1 400 ")
    assert [r.getMessage() for r in caplog.records if r.name == "uvicorn.error"] == ["Invalid HTTP request received."] * 5


@contextmanager
def _serve_with_512_descriptors(mysql_url: str, redis_url: str, prefix: str, log: Path) -> Iterator[tuple[int, int]]:
    """`erp-orders serve` as one process limited to 512 file descriptors; its gRPC and HTTP ports."""
    port, http_port = free_port(), free_port()
    extra = {
        "ORDERS_JWT_SECRET": TEST_SECRET, "ORDERS_REDIS_URL": redis_url, "ORDERS_REDIS_KEY_PREFIX": prefix, "ORDERS_LOG_FORMAT": "text",
        # The attacker keeps each connection as long as the test runs.
        "ORDERS_HTTP_HEADER_TIMEOUT_S": "300", "ORDERS_HTTP_BODY_TIMEOUT_S": "300",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.runtime.cli", "serve"], env=service_env(mysql_url, port, http_port, extra),
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (512, 512))  # before it imports, long before it listens
        serving(f"127.0.0.1:{port}", proc, log)
        until(lambda: "REST gateway on" in log.read_text(), "the gateway listens")
        yield port, http_port
    finally:
        stop(proc)


def test_grpc_and_redis_keep_working_while_slow_clients_hold_the_http_port(
    mysql_url: str, redis_url: str, engine: Engine, tmp_path: Path
) -> None:
    prefix, log = f"erp-orders-test-{uuid.uuid4().hex[:8]}:", tmp_path / "serve.log"
    keys = [f"key-{uuid.uuid4()}" for _ in range(16)]
    with _serve_with_512_descriptors(mysql_url, redis_url, prefix, log) as (port, http_port), ExitStack() as attack:
        with authorized_channel(port, token("limits")) as channel:
            customer, product = Stubs.on(channel).customer(), Stubs.on(channel).product(stock=100)
        # 600 connections, more than the process has descriptors: 300 that never finish their headers,
        # 20 that never finish their bodies, 280 that send nothing.
        for first in [_HALF_HEADERS] * 300 + [_half_body()] * 20 + [b""] * 280:
            attack.enter_context(_connect(http_port, first))
        # A new gRPC connection, and concurrent calls: new handler threads, each with new database and
        # Redis connections, all needing descriptors.
        with authorized_channel(port, token("limits")) as channel, ThreadPoolExecutor(16) as pool:
            stubs = Stubs.on(channel)
            item = order_pb2.CreateOrderRequest.Item(product_id=product.id, quantity=1)
            request = order_pb2.CreateOrderRequest(customer_id=customer.id, items=[item])
            create = lambda k: stubs.orders.CreateOrder(request, metadata=[("idempotency-key", k)], timeout=10)  # noqa: E731
            assert len({order.id for order in pool.map(create, keys)}) == 16
            assert stubs.products.GetProduct(product_pb2.GetProductRequest(id=product.id), timeout=5).stock_quantity == 84
    client = redis.Redis.from_url(redis_url)
    try:
        names = [f"{prefix}idem:{{{idem.scope('limits', '/erp.orders.v1.OrderService/CreateOrder', k)}}}" for k in keys]
        stored = [idem.Record.loads(raw) for raw in client.mget(names) if raw is not None]
        assert len([r for r in stored if r.outcome is not None]) == 16, "every claim and outcome reached Redis"
        client.delete(*names)
    finally:
        client.close()
    assert log.stat().st_size < 100_000, "the log stayed small"
    assert "lowered to 256, half the file-descriptor limit" in log.read_text()


def test_the_connection_cap_never_exceeds_half_the_descriptor_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert rest.max_connections(dataclasses.replace(Settings(), http_max_connections=soft)) == soft // 2
    assert rest.max_connections(dataclasses.replace(Settings(), http_max_connections=1)) == 1
