"""Each Prometheus metric of a real server moves when its event happens (deltas on the process registry):
locks, pools, stock movements, /metrics. The chain's own counters are tested in tests/unit/test_api_metrics.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from service.runtime.grpc_server import Running
from tests.conftest import running_server, server_settings
from tests.helpers import until, Stubs, authorized_channel, lock_waits, outcome, token


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


@pytest.fixture
def start(mysql_url: str, redis_url: str) -> Iterator[Callable[..., Running]]:
    """Starts servers with overridden settings; stops them after the test."""
    with ExitStack() as stack:
        yield lambda **overrides: stack.enter_context(running_server(server_settings(mysql_url, redis_url=redis_url, **overrides), None))


def _hold(engine: Engine, product_id: str):  # type: ignore[no-untyped-def]
    holder = engine.connect()
    holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product_id)})
    return holder


def test_in_flight_calls_and_pooled_connections_show_while_a_call_waits_for_a_lock(
    start: Callable[..., Running], stubs: Stubs, engine: Engine, observer: Engine
) -> None:
    running = start()  # the pool gauge follows the newest server's engine, as in production's one per process
    customer, product = stubs.customer(), stubs.product(stock=5)
    with authorized_channel(running.port, token("in-flight")) as channel, _hold(engine, product.id) as holder:
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(lambda: Stubs.on(channel).order(customer.id, (product.id, 1)))
            until(lambda: lock_waits(observer) > 0, "the order waits for the lock")
            assert value("orders_rpcs_in_flight") >= 1
            assert value("orders_db_pool_in_use") >= 1
            holder.rollback()
            waiting.result(timeout=30)
    until(lambda: value("orders_db_pool_in_use") == 0, "the connection is back in the pool")


def test_lock_wait_timeouts_are_counted_and_retried(start: Callable[..., Running], stubs: Stubs, engine: Engine) -> None:
    running = start(db_lock_wait_timeout_s=1, retry_attempts=2)
    customer, product = stubs.customer(), stubs.product(stock=5)
    before = value("orders_db_lock_errors_total", kind="lock_wait_timeout"), value("orders_lock_contention_retries_total")
    with authorized_channel(running.port, token("impatient")) as channel, _hold(engine, product.id) as holder:
        assert outcome(lambda: Stubs.on(channel).order(customer.id, (product.id, 1))) == "LOCK_CONTENTION"
        holder.rollback()
    after = value("orders_db_lock_errors_total", kind="lock_wait_timeout"), value("orders_lock_contention_retries_total")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)


def test_calls_waiting_for_a_pooled_connection_are_shown(
    start: Callable[..., Running], stubs: Stubs, engine: Engine, observer: Engine
) -> None:
    running = start(db_pool_size=1, db_max_overflow=0, db_lock_wait_timeout_s=60, db_pool_timeout_s=60)
    customer, product = stubs.customer(), stubs.product(stock=5)
    with authorized_channel(running.port, token("starved")) as channel, ThreadPoolExecutor(2) as pool:
        client = Stubs.on(channel)
        with _hold(engine, product.id) as holder:
            blocked = pool.submit(lambda: client.order(customer.id, (product.id, 1)))
            until(lambda: lock_waits(observer) > 0, "the first call holds the only connection")
            starved = pool.submit(lambda: client.products.GetProduct(product_pb2.GetProductRequest(id=product.id)))
            until(lambda: value("orders_db_pool_waiting") >= 1, "the second call waits for a connection")
            holder.rollback()
        assert blocked.result(timeout=60).items[0].quantity == 1
        assert starved.result(timeout=60).id == product.id


def test_committed_stock_movements_are_counted_by_kind(stubs: Stubs) -> None:
    kinds = ("initial", "order", "cancel", "adjustment")
    before = [value("orders_stock_movements_total", kind=k) for k in kinds]
    customer, a, b = stubs.customer(), stubs.product(stock=5), stubs.product(stock=5)
    order = stubs.order(customer.id, (a.id, 1), (b.id, 1))
    stubs.orders.CancelOrder(order_pb2.CancelOrderRequest(id=order.id, reason="metrics"))
    stubs.products.AdjustStock(product_pb2.AdjustStockRequest(id=a.id, delta=3, reason="metrics"))
    assert outcome(lambda: stubs.order(customer.id, (a.id, 100))) == "INSUFFICIENT_STOCK"  # rolled back: not counted
    after = [value("orders_stock_movements_total", kind=k) for k in kinds]
    assert [x - y for x, y in zip(after, before, strict=True)] == [2, 2, 2, 1]


def test_the_http_port_serves_the_metrics_in_prometheus_text(http: httpx.Client, stubs: Stubs) -> None:
    stubs.orders.ListOrders(order_pb2.ListOrdersRequest(page_size=1))
    reply = http.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert 'orders_rpcs_total{code="OK",method="/erp.orders.v1.OrderService/ListOrders"}' in reply.text
    for name in ("orders_rpc_duration_seconds_bucket", "orders_rpcs_in_flight", "orders_db_pool_in_use", "orders_db_pool_waiting"):
        assert name in reply.text
