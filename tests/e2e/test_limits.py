"""Every limit answers with a precise error, never a hang."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import customer_pb2, product_pb2
from tests.conftest import running_server, server_settings
from tests.helpers import Stubs, authorized_channel, lock_waits, rich, token, until


@pytest.fixture
def limited(mysql_url: str) -> Iterator[Callable[..., Stubs]]:
    """Starts a server with tighter settings and returns stubs on it; everything stops after the test."""
    with ExitStack() as stack:

        def _start(**overrides: object) -> Stubs:
            running = stack.enter_context(running_server(server_settings(mysql_url, **overrides), engine=None))
            return Stubs.on(stack.enter_context(authorized_channel(running.port, token("limits"))))

        yield _start


def test_a_message_over_the_size_limit_is_resource_exhausted(limited: Callable[..., Stubs]) -> None:
    stubs = limited(max_message_bytes=2048)
    request = customer_pb2.CreateCustomerRequest(name="n", document="12345678901", email="a@b.co", address="x" * 4000)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.customers.CreateCustomer(request)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]


def _blocked_call(stubs: Stubs, setup: Stubs, engine: Engine, observer: Engine, check: Callable[[], None]) -> None:
    """Runs `check` while one call of `stubs` waits on a row lock the test holds."""
    customer, product = setup.customer(), setup.product(stock=5)
    with engine.connect() as holder, ThreadPoolExecutor(1) as pool:
        holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product.id)})
        first = pool.submit(lambda: stubs.order(customer.id, (product.id, 1)))
        until(lambda: lock_waits(observer) > 0, "the first call waits for the lock")
        check()
        holder.rollback()
        assert first.result(timeout=60).items[0].quantity == 1


def test_calls_beyond_the_concurrency_limit_are_refused_at_once(
    limited: Callable[..., Stubs], channel: grpc.Channel, engine: Engine, observer: Engine
) -> None:
    stubs = limited(grpc_max_concurrent_rpcs=1, db_lock_wait_timeout_s=60)
    probe = product_pb2.GetProductRequest(id="1")
    _blocked_call(stubs, Stubs.on(channel), engine, observer, lambda: _assert_code(stubs, probe, grpc.StatusCode.RESOURCE_EXHAUSTED))


def test_a_call_that_cannot_get_a_connection_in_time_is_unavailable(
    limited: Callable[..., Stubs], channel: grpc.Channel, engine: Engine, observer: Engine
) -> None:
    stubs = limited(db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.5, db_lock_wait_timeout_s=60)

    def check() -> None:
        with pytest.raises(grpc.RpcError) as caught:
            stubs.products.GetProduct(product_pb2.GetProductRequest(id="1"))
        error = rich(caught.value)
        assert (error.code, error.reason, error.has_retry_info) == (grpc.StatusCode.UNAVAILABLE, "STORAGE_UNAVAILABLE", True)

    _blocked_call(stubs, Stubs.on(channel), engine, observer, check)


def _assert_code(stubs: Stubs, request: product_pb2.GetProductRequest, code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stubs.products.GetProduct(request)
    assert caught.value.code() == code  # type: ignore[attr-defined]
