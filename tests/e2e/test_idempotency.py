"""Idempotency keys on real Redis and MariaDB: exactly one effect per key, replays, and conflicts.
Malformed keys, and the same contract on the in-memory store, are in tests/unit/test_api_idempotency.py."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine, text

from service.redis import idempotency_store as idem
from service.redis import guard as redis_guard
from service._gen.erp.orders.v1 import order_pb2, product_pb2
from service.runtime.grpc_server import Running
from service.settings import Settings
from tests.conftest import running_server, server_settings
from tests.helpers import Stubs, authorized_channel, lock_waits, retry_while_key_in_use, rich, token, until

Item = order_pb2.CreateOrderRequest.Item


@pytest.fixture(params=["redis", "redis cluster"])
def backend(request: pytest.FixtureRequest) -> Running:
    """Every test runs against a server on one Redis and one on a three-master Redis Cluster."""
    running: Running = request.getfixturevalue("server" if request.param == "redis" else "cluster_server")
    return running


@pytest.fixture
def stubs(backend: Running) -> Iterator[Stubs]:
    with authorized_channel(backend.port, token("tester")) as channel:
        yield Stubs.on(channel)


def key() -> str:
    return f"key-{uuid.uuid4()}"


def create(stubs: Stubs, idem_key: str, customer_id: str, product_id: str, quantity: int = 1) -> tuple[order_pb2.Order, bool]:
    """Creates an order with an idempotency key; returns it and whether the server says it was replayed."""
    request = order_pb2.CreateOrderRequest(customer_id=customer_id, items=[Item(product_id=product_id, quantity=quantity)])
    order, call = stubs.orders.CreateOrder.with_call(request, metadata=[("idempotency-key", idem_key)])
    return order, _replayed(call)


def _replayed(call: Any) -> bool:
    return ("idempotent-replayed", "true") in (call.initial_metadata() or ())


def test_fifty_concurrent_creates_with_one_key_make_one_order(stubs: Stubs) -> None:
    customer, product, k = stubs.customer(), stubs.product(stock=100), key()

    def attempt(_: int) -> str:
        try:
            return create(stubs, k, customer.id, product.id, 3)[0].id
        except grpc.RpcError as error:
            return rich(error).reason

    with ThreadPoolExecutor(50) as pool:
        replies = Counter(pool.map(attempt, range(50)))
    orders = stubs.orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=customer.id)).orders
    assert len(orders) == 1
    assert set(replies) <= {orders[0].id, "IDEMPOTENCY_KEY_IN_USE"}
    assert replies[orders[0].id] >= 1
    assert stubs.stock(product.id) == 97


def test_a_retry_after_completion_returns_the_identical_order_marked_replayed(stubs: Stubs) -> None:
    customer, product, k = stubs.customer(), stubs.product(stock=10), key()
    first, first_replayed = create(stubs, k, customer.id, product.id, 2)
    again, again_replayed = create(stubs, k, customer.id, product.id, 2)
    assert (first_replayed, again_replayed) == (False, True)
    assert again == first
    assert stubs.stock(product.id) == 8


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(stubs: Stubs) -> None:
    customer, product, k = stubs.customer(), stubs.product(stock=10), key()
    create(stubs, k, customer.id, product.id, 2)
    with pytest.raises(grpc.RpcError) as caught:
        create(stubs, k, customer.id, product.id, 3)
    error = rich(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED")
    assert stubs.stock(product.id) == 8


def test_the_same_key_from_another_principal_is_another_request(backend: Running, stubs: Stubs) -> None:
    customer, product, k = stubs.customer(), stubs.product(stock=10), key()
    mine, _ = create(stubs, k, customer.id, product.id)
    with authorized_channel(backend.port, token("someone-else")) as channel:
        theirs, replayed = create(Stubs.on(channel), k, customer.id, product.id)
    assert (theirs.id != mine.id, replayed) == (True, False)
    assert stubs.stock(product.id) == 8


def test_a_business_failure_is_replayed_even_after_the_state_changes(stubs: Stubs) -> None:
    customer, product, k = stubs.customer(), stubs.product(stock=1), key()
    with pytest.raises(grpc.RpcError) as first:
        create(stubs, k, customer.id, product.id, 5)
    assert rich(first.value).reason == "INSUFFICIENT_STOCK"
    stubs.products.AdjustStock(product_pb2.AdjustStockRequest(id=product.id, delta=10, reason="restock"))
    with pytest.raises(grpc.RpcError) as again:
        create(stubs, k, customer.id, product.id, 5)
    assert rich(again.value).reason == "INSUFFICIENT_STOCK"
    assert rich(again.value).precondition_subjects == [f"products/{product.id}"]
    assert _replayed(again.value)
    assert stubs.stock(product.id) == 11


def test_a_validation_failure_is_not_stored_so_the_fixed_request_runs(stubs: Stubs) -> None:
    customer, product, k = stubs.customer(), stubs.product(stock=10), key()
    with pytest.raises(grpc.RpcError) as caught:
        create(stubs, k, customer.id, product.id, 0)
    assert rich(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT
    order, replayed = create(stubs, k, customer.id, product.id, 1)
    assert (order.items[0].quantity, replayed) == (1, False)


def test_adjust_stock_with_a_key_moves_stock_once(stubs: Stubs) -> None:
    product, k = stubs.product(stock=10), key()
    request = product_pb2.AdjustStockRequest(id=product.id, delta=-4, reason="damaged")
    first = stubs.products.AdjustStock(request, metadata=[("idempotency-key", k)])
    again = stubs.products.AdjustStock(request, metadata=[("idempotency-key", k)])
    assert again.movement == first.movement
    assert stubs.stock(product.id) == 6


_CREATE = "/erp.orders.v1.OrderService/CreateOrder"


def _claim_for_a_dead_owner(settings: Settings, k: str, request: order_pb2.CreateOrderRequest) -> None:
    """Claims `k` for `tester` as a call of a process that died would have: with a lease nobody renews."""
    guard = redis_guard.connect(settings.redis_url)
    fingerprint = idem.fingerprint(_CREATE, request.SerializeToString(deterministic=True))
    scope = idem.scope("tester", _CREATE, k)
    assert idem.RedisStore(guard, settings.redis_key_prefix).claim(scope, idem.Record("dead", fingerprint, None), settings.idempotency_lease_s) is None
    guard.close()


def test_a_key_held_by_a_dead_process_is_taken_over_within_a_lease_and_makes_one_order(settings: Settings, channel: grpc.Channel) -> None:
    stubs = Stubs.on(channel)
    customer, product, k = stubs.customer(), stubs.product(stock=10), key()
    request = order_pb2.CreateOrderRequest(customer_id=customer.id, items=[Item(product_id=product.id, quantity=2)])
    _claim_for_a_dead_owner(settings, k, request)
    (order, replayed), waited = retry_while_key_in_use(lambda: create(stubs, k, customer.id, product.id, 2))
    assert (replayed, waited < settings.idempotency_lease_s + 5) == (False, True)
    assert [o.id for o in stubs.orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=customer.id)).orders] == [order.id]
    assert stubs.stock(product.id) == 8


def test_a_key_whose_dead_owner_committed_is_taken_over_and_replays_that_order(
    settings: Settings, channel: grpc.Channel, engine: Engine
) -> None:
    stubs = Stubs.on(channel)
    customer, product, k = stubs.customer(), stubs.product(stock=10), key()
    request = order_pb2.CreateOrderRequest(customer_id=customer.id, items=[Item(product_id=product.id, quantity=2)])
    # The dead process committed the order, then died before storing the outcome in Redis: here the
    # order is made through a server that keeps its keys in memory, on the same database.
    with running_server(server_settings(settings.database_url), engine) as other, authorized_channel(other.port, token("tester")) as ch:
        committed, _ = create(Stubs.on(ch), k, customer.id, product.id, 2)
    _claim_for_a_dead_owner(settings, k, request)
    (order, replayed), waited = retry_while_key_in_use(lambda: create(stubs, k, customer.id, product.id, 2))
    assert (order, replayed, waited < settings.idempotency_lease_s + 5) == (committed, True, True)
    assert stubs.stock(product.id) == 8


def test_a_call_that_outlives_its_lease_keeps_its_key_while_it_runs(mysql_url: str, redis_url: str, engine: Engine, observer: Engine) -> None:
    lease_s = 1.0
    with running_server(server_settings(mysql_url, redis_url=redis_url, idempotency_lease_s=lease_s, db_lock_wait_timeout_s=60), engine) as running, \
            authorized_channel(running.port, token("tester")) as channel, engine.connect() as holder, ThreadPoolExecutor(1) as pool:
        stubs = Stubs.on(channel)
        customer, product, k = stubs.customer(), stubs.product(stock=10), key()
        holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product.id)})
        first = pool.submit(create, stubs, k, customer.id, product.id, 2)
        until(lambda: lock_waits(observer) > 0, "the first call waits for the lock")
        outlived = time.monotonic() + 3 * lease_s
        until(lambda: time.monotonic() > outlived, "the call has run for three leases")
        with pytest.raises(grpc.RpcError) as caught:
            create(stubs, k, customer.id, product.id, 2)
        assert rich(caught.value).reason == "IDEMPOTENCY_KEY_IN_USE"
        holder.rollback()
        order, replayed = first.result(timeout=60)
        assert create(stubs, k, customer.id, product.id, 2) == (order, True)
        assert stubs.stock(product.id) == 8
