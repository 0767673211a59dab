"""Losing Redis never creates a second order: the key stored on the order row is the backstop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from service.redis import idempotency_store as idem
from service.redis.guard import slot_key

from service._gen.erp.orders.v1 import order_pb2
from tests.conftest import running_server, server_settings
from tests.e2e.test_idempotency import create, key
from tests.helpers import Stubs, authorized_channel, outcome, rich, token
from chaos.redis_server import RedisProcess, private_redis


@contextmanager
def _service(mysql_url: str, engine: Engine, redis: RedisProcess | str, **overrides: object) -> Iterator[Stubs]:
    url = redis if isinstance(redis, str) else redis.url
    settings = server_settings(mysql_url, redis_url=url, **overrides)
    with running_server(settings, engine) as running, authorized_channel(running.port, token("tester")) as channel:
        yield Stubs.on(channel)


def test_after_redis_forgets_a_key_the_retry_returns_the_same_order(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    with private_redis(tmp_path) as redis, _service(mysql_url, engine, redis) as stubs:
        customer, product, k = stubs.customer(), stubs.product(stock=10), key()
        first, _ = create(stubs, k, customer.id, product.id, 4)
        redis.client.flushdb()  # our private server: nothing else lives there
        again, replayed = create(stubs, k, customer.id, product.id, 4)
        assert (again, replayed) == (first, True)
        assert stubs.stock(product.id) == 6

        redis.client.flushdb()
        with pytest.raises(grpc.RpcError) as caught:
            create(stubs, k, customer.id, product.id, 5)
        assert rich(caught.value).reason == "IDEMPOTENCY_KEY_REUSED"
        orders = stubs.orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=customer.id)).orders
        assert [o.id for o in orders] == [first.id]


def test_with_redis_down_orders_stay_exactly_once_and_rate_limits_fail_open(
    mysql_url: str, engine: Engine, tmp_path: Path
) -> None:
    with private_redis(tmp_path) as redis, _service(mysql_url, engine, redis, rate_limit_write="2/min") as stubs:
        customer, product = stubs.customer(), stubs.product(stock=50)  # the two writes the limit allows
        assert outcome(lambda: stubs.product(stock=1)) == "RATE_LIMITED"
        redis.stop()

        keys = [key() for _ in range(5)]
        first = [create(stubs, k, customer.id, product.id, 2)[0] for k in keys]
        retried = [create(stubs, k, customer.id, product.id, 2) for k in keys]
        assert [order for order, _ in retried] == first
        assert all(replayed for _, replayed in retried)
        assert stubs.stock(product.id) == 40
        orders = stubs.orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=customer.id)).orders
        assert sorted(o.id for o in orders) == sorted(o.id for o in first)


@pytest.mark.parametrize("flush", [False, True], ids=["redis up", "redis flushed"])
def test_keys_and_principals_that_differ_by_a_trailing_space_make_separate_orders(
    mysql_url: str, engine: Engine, tmp_path: Path, flush: bool
) -> None:
    with private_redis(tmp_path) as redis, running_server(server_settings(mysql_url, redis_url=redis.url), engine) as running:
        def create_as(who: str, idem_key: str, quantity: int) -> order_pb2.Order:
            if flush:
                redis.client.flushdb()  # our private server: nothing else lives there
            with authorized_channel(running.port, token(who)) as channel:
                order, replayed = create(Stubs.on(channel), idem_key, customer.id, product.id, quantity)
            assert not replayed
            return order

        with authorized_channel(running.port, token("carol")) as channel:
            stubs = Stubs.on(channel)
            customer, product, k = stubs.customer(), stubs.product(stock=10), key()
            made = [create_as("carol", k, 1), create_as("carol", f"{k} ", 2), create_as("carol ", k, 1)]
            assert len({order.id for order in made}) == 3
            assert stubs.stock(product.id) == 6


@contextmanager
def _out_of_memory(workdir: Path) -> Iterator[str]:
    with private_redis(workdir) as redis:
        redis.client.config_set("maxmemory", 1)  # under the default noeviction policy every write is refused
        yield redis.url


@contextmanager
def _read_only_replica(workdir: Path) -> Iterator[str]:
    """What a client that still points at a demoted primary gets after a failover: READONLY."""
    with private_redis(workdir / "primary") as primary, private_redis(
        workdir / "replica", "--replicaof", "127.0.0.1", str(primary.port)
    ) as replica:
        yield replica.url


def _failures() -> float:
    return sum(
        sample.value for metric in REGISTRY.collect() if metric.name == "orders_redis_failures"
        for sample in metric.samples if sample.name == "orders_redis_failures_total"
    )


@pytest.mark.parametrize("refusing", [_out_of_memory, _read_only_replica], ids=["OOM", "READONLY"])
def test_a_redis_that_refuses_commands_fails_open_like_a_lost_one(
    refusing: Callable[[Path], AbstractContextManager[str]], mysql_url: str, engine: Engine, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="service.redis.guard")
    before = _failures()
    limits = {"rate_limit_read": "1000/min", "rate_limit_write": "1000/min"}  # so the limiter asks Redis too
    with refusing(tmp_path) as url, _service(mysql_url, engine, url, **limits) as stubs:
        customer, product, k = stubs.customer(), stubs.product(stock=10), key()
        first, _ = create(stubs, k, customer.id, product.id, 4)
        assert create(stubs, k, customer.id, product.id, 4) == (first, True)  # the order row's key answers
        assert stubs.stock(product.id) == 6
    assert _failures() > before
    assert any(r.getMessage().startswith("redis unavailable during") for r in caplog.records)


def test_another_error_reply_to_a_command_fails_open_too(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    with private_redis(tmp_path) as redis, _service(mysql_url, engine, redis, redis_key_prefix="wrongtype:") as stubs:
        customer, product, k = stubs.customer(), stubs.product(stock=10), key()
        scope = idem.scope("tester", "/erp.orders.v1.OrderService/CreateOrder", k)
        redis.client.rpush(slot_key("wrongtype:", "idem:", scope), "a list")  # SET … GET on it: WRONGTYPE
        before = _failures()
        first, _ = create(stubs, k, customer.id, product.id, 4)
        assert create(stubs, k, customer.id, product.id, 4) == (first, True)
        assert stubs.stock(product.id) == 6
        assert _failures() > before


def test_after_redis_forgets_a_key_a_retried_return_replays_the_return_its_row_stored(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    with private_redis(tmp_path) as redis, _service(mysql_url, engine, redis) as stubs:
        product = stubs.product(stock=5)
        order = stubs.order(stubs.customer().id, (product.id, 2))
        for status in (order_pb2.ORDER_STATUS_CONFIRMED, order_pb2.ORDER_STATUS_PICKED, order_pb2.ORDER_STATUS_SHIPPED):
            stubs.orders.UpdateOrderStatus(order_pb2.UpdateOrderStatusRequest(id=order.id, status=status))
        item = order_pb2.CreateReturnRequest.Item(product_id=product.id, quantity=2, disposition=order_pb2.RETURN_DISPOSITION_RESTOCK)
        request, metadata = order_pb2.CreateReturnRequest(order_id=order.id, items=[item], reason="late"), [("idempotency-key", key())]
        first = stubs.orders.CreateReturn(request, metadata=metadata)
        redis.client.flushdb()  # our private server: nothing else lives there
        again, call = stubs.orders.CreateReturn.with_call(request, metadata=metadata)
        assert again == first and ("idempotent-replayed", "true") in (call.initial_metadata() or ())  # over-returned, yet replayed
        assert stubs.stock(product.id) == 5  # restocked once
