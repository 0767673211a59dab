"""Every limit answers with a precise error, never a hang."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import customer_pb2, order_pb2, product_pb2
from tests.conftest import running_server, server_settings
from tests.helpers import Stubs, authorized_channel, lock_waits, rich, token, until

Item = order_pb2.CreateOrderRequest.Item


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


def test_a_list_page_that_would_overflow_the_response_limit_stops_early_with_a_next_page_token(
    limited: Callable[..., Stubs], engine: Engine  # the engine fixture migrates the database
) -> None:
    stubs = limited(max_message_bytes=64 * 1024)
    customer, product = stubs.customer(), stubs.product(stock=1000)
    request = order_pb2.CreateOrderRequest(customer_id=customer.id, note="n" * 1000, items=[Item(product_id=product.id, quantity=1)])
    with ThreadPoolExecutor(8) as pool:
        created = set(pool.map(lambda _: stubs.orders.CreateOrder(request).id, range(150)))  # about 1.1 KB each
    pages, token = [], ""
    while True:
        page = stubs.orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=customer.id, page_size=1000, page_token=token))
        assert page.ByteSize() <= 64 * 1024
        pages.append([o.id for o in page.orders])
        token = page.next_page_token
        if not token:
            break
    assert len(pages) >= 3 and all(pages)
    listed = [order_id for page in pages for order_id in page]
    assert sorted(listed) == sorted(created)  # each order exactly once, none skipped at a page boundary
