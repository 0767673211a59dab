"""SIGTERM on a real `erp-orders serve` process: refuse new calls, finish the in-flight one, exit 0."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import product_pb2
from tests.helpers import until, TEST_SECRET, Stubs, authorized_channel, lock_waits, outcome, product_env, token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serving(port: int) -> bool:
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def test_sigterm_drains_the_in_flight_order_then_exits_cleanly(
    mysql_url: str, engine: Engine, observer: Engine, channel: grpc.Channel, tmp_path: Path
) -> None:
    setup = Stubs.on(channel)
    customer, product = setup.customer(), setup.product(stock=5)
    port = _free_port()
    env = product_env(**{
        "ORDERS_DATABASE_URL": mysql_url, "ORDERS_JWT_SECRET": TEST_SECRET, "ORDERS_GRPC_HOST": "127.0.0.1",
        "ORDERS_GRPC_PORT": str(port), "ORDERS_SHUTDOWN_GRACE_S": "60", "ORDERS_DB_LOCK_WAIT_TIMEOUT_S": "60",
        "ORDERS_HTTP_HOST": "127.0.0.1", "ORDERS_HTTP_PORT": "0", "ORDERS_IDEMPOTENCY_LEASE_S": "600",
    })
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "service.runtime.cli", "serve"], env=env, stdout=log, stderr=log)
    try:
        until(lambda: _serving(port), "the server is ready")
        with engine.connect() as holder, authorized_channel(port, token("buyer")) as client, ThreadPoolExecutor(1) as pool:
            holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product.id)})
            stubs = Stubs.on(client)
            in_flight = pool.submit(lambda: stubs.order(customer.id, (product.id, 2)))
            until(lambda: lock_waits(observer) > 0, "the order waits for the product lock")

            process.send_signal(signal.SIGTERM)
            until(lambda: not _serving(port), "readiness is gone")
            get = product_pb2.GetProductRequest(id=product.id)
            until(lambda: outcome(lambda: stubs.products.GetProduct(get)) == "UNAVAILABLE", "new calls are refused")
            assert process.poll() is None, "the server exited with a call in flight"

            holder.rollback()
            assert in_flight.result(timeout=60).items[0].quantity == 2
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    assert setup.stock(product.id) == 3

