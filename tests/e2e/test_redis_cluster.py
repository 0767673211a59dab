"""A Redis Cluster losing a master under load: calls keep succeeding and no order is made twice."""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from tests.conftest import running_server, server_settings
from tests.e2e.test_idempotency import create, key
from tests.helpers import Stubs, authorized_channel, token, until
from tests.redis_cluster import private_cluster


def _failures() -> float:
    return sum(
        REGISTRY.get_sample_value("orders_redis_failures_total", {"operation": op}) or 0.0
        for op in ("rate limit", "idempotency claim", "idempotency store", "idempotency release")
    )


# redis-py drops the node clients that a topology refresh replaced without closing their sockets.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_master_killed_under_load_fails_open_and_orders_stay_exactly_once(
    mysql_url: str, engine: Engine, tmp_path: Path
) -> None:
    with private_cluster(tmp_path) as cluster:
        # A write limit far above this load, so every call runs the rate-limit script on the cluster too.
        settings = server_settings(mysql_url, redis_url=cluster.url, rate_limit_write="100000/s")
        with running_server(settings, engine) as running, authorized_channel(running.port, token("tester")) as channel:
            stubs = Stubs.on(channel)
            customer, product = stubs.customer(), stubs.product(stock=100_000)
            made: dict[str, str] = {}  # idempotency key → order id
            errors: list[BaseException] = []
            lock, stop = threading.Lock(), threading.Event()

            def buyer() -> None:
                while not stop.is_set():
                    k = key()
                    try:
                        order, _ = create(stubs, k, customer.id, product.id)
                    except BaseException as error:  # noqa: BLE001 - every failure is the test's finding
                        errors.append(error)
                        return
                    with lock:
                        made[k] = order.id

            before = _failures()
            with ThreadPoolExecutor(6) as pool:
                for _ in range(6):
                    pool.submit(buyer)
                until(lambda: len(made) >= 60 or errors, "60 orders made through the healthy cluster", 60)
                dead, *alive = cluster.ports
                cluster.kill(dead)
                until(lambda: all(cluster.state(p) == "fail" for p in alive) or errors, "the cluster is down", 60)
                down_at = len(made)
                until(lambda: len(made) >= down_at + 60 or errors, "60 more orders with the cluster down", 60)
                stop.set()
            assert errors == []
            assert _failures() > before

            retried = {k: create(stubs, k, customer.id, product.id) for k in made}
            assert {k: order.id for k, (order, _) in retried.items()} == made
            assert all(replayed for _, replayed in retried.values())
            assert sorted(o.id for o in stubs.all_orders(customer.id)) == sorted(made.values())
            assert stubs.stock(product.id) == 100_000 - len(made)
    gc.collect()  # the dropped sockets are reported here, under this test's filter
