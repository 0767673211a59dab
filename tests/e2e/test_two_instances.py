"""Two independent `erp-orders serve` instances on one database and one Redis: every concurrency
invariant holds across them, as it does across the workers of one supervisor.

Each instance is its own `serve` process with its own ports (not two workers of one supervisor),
so nothing in-process (locks, caches, the combiner of one process) can be what keeps them right:
only the database's row locks and unique indexes, and Redis, are shared.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from itertools import pairwise

import grpc
import pytest
from sqlalchemy import Engine, text

from bench.server import running_service
from service._gen.erp.orders.v1 import order_pb2, product_pb2
from tests.e2e.test_idempotency import create, key
from tests.helpers import TEST_SECRET, Stubs, authorized_channel, outcome, rich, token

PENDING, CONFIRMED, CANCELED = order_pb2.ORDER_STATUS_PENDING, order_pb2.ORDER_STATUS_CONFIRMED, order_pb2.ORDER_STATUS_CANCELED


@pytest.fixture(scope="module")
def instances(mysql_url: str, engine: Engine, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Stubs]]:
    """Stubs for two running instances that share the test database, one Redis and one key prefix."""
    logs = tmp_path_factory.mktemp("two-instances")
    env = {
        "ORDERS_JWT_SECRET": TEST_SECRET, "ORDERS_REDIS_URL": redis_url,
        "ORDERS_REDIS_KEY_PREFIX": f"erp-orders-test-{uuid.uuid4().hex[:8]}:",
        "ORDERS_RATE_LIMIT_READ": "off", "ORDERS_RATE_LIMIT_WRITE": "off", "ORDERS_RETRY_ATTEMPTS": "10", "ORDERS_IDEMPOTENCY_LEASE_S": "300",
        "ORDERS_SHUTDOWN_GRACE_S": "1", "ORDERS_LOG_LEVEL": "WARNING",
    }
    with ExitStack() as stack:
        processes = [stack.enter_context(running_service(mysql_url, env, logs / f"{name}.log")) for name in "ab"]
        assert len({p.pid for p in processes}) == len({p.port for p in processes}) == 2
        # One principal on both, so that idempotency keys (scoped to the principal) are shared.
        bearer = token("two-instances")
        yield [Stubs.on(stack.enter_context(authorized_channel(p.port, bearer))) for p in processes]


def _on_both(instances: list[Stubs], calls: int, call: object) -> list[object]:
    """Runs call(stubs, i) `calls` times at once, alternating between the two instances."""
    with ThreadPoolExecutor(calls) as pool:
        return list(pool.map(lambda i: call(instances[i % 2], i), range(calls)))  # type: ignore[operator]


def test_the_last_units_bought_from_both_instances_at_once_are_sold_once(instances: list[Stubs], observer: Engine) -> None:
    a, _ = instances
    customer, product = a.customer(), a.product(stock=5)
    outcomes = Counter(_on_both(instances, 24, lambda s, _: outcome(lambda: s.order(customer.id, (product.id, 1)))))
    assert outcomes == Counter({"OK": 5, "INSUFFICIENT_STOCK": 19})
    assert a.stock(product.id) == 0
    with observer.connect() as conn:
        sold = conn.execute(text("SELECT COALESCE(SUM(quantity), 0) FROM order_items WHERE product_id = :p"), {"p": int(product.id)}).scalar()
    assert sold == 5


def test_same_key_creates_split_across_both_instances_make_one_order(instances: list[Stubs], observer: Engine) -> None:
    a, b = instances
    customer, product, k = a.customer(), a.product(stock=100), key()

    def attempt(stubs: Stubs, _: int) -> str:
        try:
            return create(stubs, k, customer.id, product.id)[0].id
        except grpc.RpcError as error:
            return rich(error).reason

    results = Counter(_on_both(instances, 20, attempt))
    ids = {r for r in results if r.isdigit()}
    assert len(ids) == 1, results
    assert set(results) - ids <= {"IDEMPOTENCY_KEY_IN_USE"}, results
    (order_id,) = ids
    # A later retry on either instance replays the one order.
    assert create(b, k, customer.id, product.id) == (create(a, k, customer.id, product.id)[0], True)
    assert create(a, k, customer.id, product.id)[0].id == order_id
    assert len(a.all_orders(customer.id)) == 1
    assert a.stock(product.id) == 99


def test_cancels_racing_status_moves_on_the_other_instance_restore_stock_once(instances: list[Stubs]) -> None:
    a, b = instances
    customer, product = a.customer(), a.product(stock=40)
    orders = [a.order(customer.id, (product.id, 2)) for _ in range(10)]

    def race(i: int) -> str:
        order = orders[i // 2]
        if i % 2:
            return outcome(lambda: b.orders.CancelOrder(order_pb2.CancelOrderRequest(id=order.id, reason="race")))
        return outcome(lambda: a.orders.UpdateOrderStatus(
            order_pb2.UpdateOrderStatusRequest(id=order.id, status=CONFIRMED, reason="race")))

    with ThreadPoolExecutor(20) as pool:
        assert set(pool.map(race, range(20))) <= {"OK", "INVALID_STATUS_TRANSITION"}
    final = {o.id: o.status for o in a.all_orders(customer.id)}
    canceled = [i for i, status in final.items() if status == CANCELED]
    # A cancel from PENDING or CONFIRMED always wins eventually: both moves are legal in either order.
    assert len(canceled) == 10
    valid = ([PENDING, CANCELED], [PENDING, CONFIRMED, CANCELED])
    for order_id in canceled:
        changes = a.history(order_id)
        assert all(c.from_status == p.to_status for p, c in pairwise(changes))
        assert [c.to_status for c in changes] in valid
    restored = [m for m in a.movements(product.id) if m.kind == product_pb2.STOCK_MOVEMENT_KIND_CANCEL]
    assert sorted(m.order_id for m in restored) == sorted(canceled)
    assert a.stock(product.id) == 40


def test_stock_is_conserved_under_a_mixed_workload_on_both_instances(instances: list[Stubs]) -> None:
    rng = random.Random(20261202)
    a, _ = instances
    customer = a.customer()
    products = [a.product(stock=rng.randint(5, 20)) for _ in range(4)]
    initial = {p.id: p.stock_quantity for p in products}
    placed: list[str] = []

    def step(stubs: Stubs, i: int) -> None:
        r = random.Random(i)
        try:
            if r.random() < 0.6:
                lines = [(p.id, r.randint(1, 4)) for p in r.sample(products, r.randint(1, 3))]
                placed.append(stubs.order(customer.id, *lines).id)
            elif placed and r.random() < 0.6:
                stubs.orders.CancelOrder(order_pb2.CancelOrderRequest(id=r.choice(placed), reason="workload"))
            else:
                delta = r.choice([-3, -1, 2, 5])
                stubs.products.AdjustStock(product_pb2.AdjustStockRequest(id=r.choice(products).id, delta=delta, reason="count"))
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error  # type: ignore[attr-defined]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: step(instances[i % 2], rng.randrange(10**9) + i), range(200)))

    orders = a.all_orders(customer.id)
    assert sorted(o.id for o in orders) == sorted(placed)
    for product in products:
        ledger = a.movements(product.id)
        adjustments = sum(m.delta for m in ledger if m.kind == product_pb2.STOCK_MOVEMENT_KIND_ADJUSTMENT)
        ordered = sum(i.quantity for o in orders if o.status != CANCELED for i in o.items if i.product_id == product.id)
        stock = a.stock(product.id)
        assert stock >= 0
        assert initial[product.id] + adjustments - ordered == stock == sum(m.delta for m in ledger)
