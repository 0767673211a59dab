"""`serve` with ORDERS_GRPC_PROCESSES=2: two workers answer on one port and both stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from bench.processes import tree
from bench.server import ROOT, free_port, service_env
from service._gen.erp.orders.v1 import order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc
from tests.helpers import TEST_SECRET, Stubs, authorized_channel, lock_waits, retry_while_key_in_use, token, until


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _serving(target: str) -> bool:
    try:
        with grpc.insecure_channel(target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def test_two_worker_processes_serve_one_port_and_stop_on_sigterm(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    extra = {"ORDERS_GRPC_PROCESSES": "2", "ORDERS_SHUTDOWN_GRACE_S": "1", "ORDERS_JWT_SECRET": TEST_SECRET}
    env = service_env(mysql_url, port, free_port(), extra)
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "service.runtime.cli", "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        log_text = lambda: (tmp_path / "serve.log").read_text()  # noqa: E731
        until(lambda: log_text().count("REST gateway on") >= 2, "both workers serve gRPC and REST", 60)
        workers = [pid for pid in tree(proc.pid) if "spawn_main" in _cmdline(pid)]
        # Readiness is the service's: SERVING once each worker has seen the other ready too.
        until(lambda: _serving(f"127.0.0.1:{port}"), "the service is ready", 30)
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "workers stopped (exit codes [0, 0])" in (tmp_path / "serve.log").read_text()
    assert not [pid for pid in workers if "spawn_main" in _cmdline(pid)]


_STARTED = re.compile(r"worker (\d+) started \(pid (\d+), socket directory (\S+)\)")


def _started(log: Path) -> list[tuple[int, int, Path]]:
    """(index, pid, socket directory) of every worker start, in order."""
    return [(int(i), int(pid), Path(d)) for i, pid, d in _STARTED.findall(log.read_text())]


def _list_products(target: str, timeout_s: float = 2) -> str:
    try:
        with grpc.insecure_channel(target) as channel:  # a fresh connection: the kernel picks the worker
            stub = product_pb2_grpc.ProductServiceStub(channel)
            request, bearer = product_pb2.ListProductsRequest(page_size=1), [("authorization", f"Bearer {token('w')}")]
            stub.ListProducts(request, timeout=timeout_s, metadata=bearer)
        return "OK"
    except grpc.RpcError as error:
        return error.code().name  # type: ignore[attr-defined]


@contextmanager
def _stopped_cleanly(proc: subprocess.Popen[bytes], log: Path) -> Iterator[None]:
    """The block, then SIGTERM and exit code 0; a block that failed leaves the service killed."""
    try:
        yield
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _two_workers(mysql_url: str, tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    proc, port, _, log = _two_workers_http(mysql_url, tmp_path, **extra)
    return proc, port, log


def _two_workers_http(mysql_url: str, tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[bytes], int, int, Path]:
    """`serve` with two workers and plain-text logs; its runtime directory goes under tmp_path."""
    port, http_port = free_port(), free_port()
    settings = {
        "ORDERS_GRPC_PROCESSES": "2", "ORDERS_SHUTDOWN_GRACE_S": "1", "ORDERS_JWT_SECRET": TEST_SECRET, "ORDERS_LOG_FORMAT": "text",
    }
    env = service_env(mysql_url, port, http_port, settings | extra) | {"TMPDIR": str(tmp_path)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service.runtime.cli", "serve"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return proc, port, http_port, log


def test_a_killed_worker_is_restarted_while_the_other_keeps_serving(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    proc, port, log = _two_workers(mysql_url, tmp_path)
    outcomes: list[tuple[float, str]] = []
    loaded = threading.Event()

    def call_until_loaded() -> None:
        while not loaded.is_set():
            outcomes.append((time.monotonic(), _list_products(f"127.0.0.1:{port}")))

    load = threading.Thread(target=call_until_loaded)
    try:
        until(lambda: log.read_text().count("REST gateway on") >= 2, "both workers serve gRPC and REST", 60)
        [(_, victim, victim_dir), *_] = _started(log)
        load.start()
        until(lambda: [o for _, o in outcomes].count("OK") >= 20, "the load runs")
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        until(lambda: len(_started(log)) == 3, "the supervisor restarts the killed worker", 30)
        index, replacement, replacement_dir = _started(log)[2]
        restarted_at = time.monotonic()
        assert index == 0 and replacement != victim
        until(lambda: _list_products(f"unix:{replacement_dir / 'grpc.sock'}") == "OK", "the restarted worker serves", 60)
        assert not victim_dir.exists()  # the dead worker's private socket directory is gone
        loaded.set()
        load.join()
        during = [o for t, o in outcomes if killed_at <= t <= restarted_at]
        assert "OK" in during, "the other worker kept serving while the killed one was down"
        failed = [o for t, o in outcomes if t >= killed_at and o != "OK"]
        assert set(failed) <= {"UNAVAILABLE"} and len(failed) <= 3, failed  # at most the calls in flight on the victim
        assert [o for t, o in outcomes if t > restarted_at][-10:] == ["OK"] * 10
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
    finally:
        loaded.set()
        if load.is_alive():
            load.join()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "workers stopped (exit codes [0, 0])" in log.read_text()
    assert not list(tmp_path.glob("erp-orders-*"))  # the runtime directory is removed on exit


def test_a_crash_loop_stops_the_service_with_exit_code_1(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    proc, _, log = _two_workers(mysql_url, tmp_path, ORDERS_WORKER_CRASH_LIMIT="2", ORDERS_WORKER_CRASH_WINDOW_S="600")
    try:
        until(lambda: len(_started(log)) == 2, "both workers start", 60)
        os.kill(_started(log)[0][1], signal.SIGKILL)
        until(lambda: len(_started(log)) == 3, "the supervisor restarts the killed worker", 30)
        os.kill(_started(log)[2][1], signal.SIGKILL)
        assert proc.wait(timeout=30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "2 worker crashes within 600 s: a crash loop" in text
    assert not [pid for _, pid, _ in _started(log) if "spawn_main" in _cmdline(pid)]  # the healthy one was stopped too
    assert not list(tmp_path.glob("erp-orders-*"))


def _scrape(http_port: int, method: str) -> float:
    """orders_rpcs_total{method, code="OK"} from one scrape on a fresh connection (the kernel picks the worker)."""
    text = httpx.get(f"http://127.0.0.1:{http_port}/metrics", headers={"Connection": "close"}, timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "orders_rpcs_total" and sample.labels == {"method": method, "code": "OK"}:
                return sample.value
    return 0.0


def _readyz(http_port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{http_port}/readyz", headers={"Connection": "close"}, timeout=5).status_code


def test_with_two_workers_each_scrape_is_the_whole_service_and_counters_only_grow(
    mysql_url: str, engine: Engine, tmp_path: Path
) -> None:
    proc, port, http_port, log = _two_workers_http(mysql_url, tmp_path, ORDERS_READINESS_INTERVAL_S="0.2")
    method = "/erp.orders.v1.ProductService/ListProducts"
    with _stopped_cleanly(proc, log):
        until(lambda: log.read_text().count("REST gateway on") >= 2, "both workers serve gRPC and REST", 60)
        until(lambda: _readyz(http_port) == 200, "the service is ready")
        scrapes: list[float] = []
        for made in range(10, 50, 10):
            assert [_list_products(f"127.0.0.1:{port}") for _ in range(10)] == ["OK"] * 10
            scraped = [_scrape(http_port, method) for _ in range(6)]
            assert scraped == [made] * 6, scrapes
            scrapes += scraped
        os.kill(_started(log)[0][1], signal.SIGKILL)
        until(lambda: _readyz(http_port) == 503, "readiness answers for the service: one worker is missing", 30, every=0.05)
        until(lambda: _readyz(http_port) == 200, "the restarted worker is ready", 60)
        assert [_scrape(http_port, method) for _ in range(6)] == [40] * 6  # the dead worker's counts are kept


def test_a_key_held_by_a_killed_worker_is_free_within_a_lease_and_the_retry_makes_one_order(
    mysql_url: str, redis_url: str, engine: Engine, observer: Engine, tmp_path: Path
) -> None:
    prefix = f"erp-orders-test-{uuid.uuid4().hex[:8]}:"
    proc, port, log = _two_workers(
        mysql_url, tmp_path, ORDERS_REDIS_URL=redis_url, ORDERS_REDIS_KEY_PREFIX=prefix, ORDERS_DB_LOCK_WAIT_TIMEOUT_S="60"
    )
    bearer = ("authorization", f"Bearer {token('w')}")
    with _stopped_cleanly(proc, log):
        until(lambda: log.read_text().count("REST gateway on") >= 2, "both workers serve gRPC and REST", 60)
        [(_, victim, victim_dir), *_] = _started(log)
        with authorized_channel(port, token("w")) as channel:
            stubs = Stubs.on(channel)
            customer, product, k = stubs.customer(), stubs.product(stock=10), f"key-{uuid.uuid4()}"
            item = order_pb2.CreateOrderRequest.Item(product_id=product.id, quantity=2)
            request = order_pb2.CreateOrderRequest(customer_id=customer.id, items=[item])
            with engine.connect() as holder, ThreadPoolExecutor(1) as pool, grpc.insecure_channel(f"unix:{victim_dir / 'grpc.sock'}") as to_victim:
                holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product.id)})
                on_victim = order_pb2_grpc.OrderServiceStub(to_victim).CreateOrder
                first = pool.submit(on_victim, request, metadata=[("idempotency-key", k), bearer], timeout=60)
                until(lambda: lock_waits(observer) > 0, "the victim's call waits for the lock, holding the key")
                os.kill(victim, signal.SIGKILL)
                with pytest.raises(grpc.RpcError):
                    first.result(timeout=30)
                holder.rollback()
            retry = lambda: stubs.orders.CreateOrder(request, metadata=[("idempotency-key", k)], timeout=30)  # noqa: E731
            order, waited = retry_while_key_in_use(retry)
            assert waited < 10 + 5, "the dead worker's key was free within its 10 s lease"
            assert [o.id for o in stubs.orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=customer.id)).orders] == [order.id]
            assert stubs.stock(product.id) == 8
