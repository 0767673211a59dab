"""Two `serve` processes, each running a relay, under a concurrent mix of creates, moves and cancels:
a consumer that reads only the stream rebuilds every order's status and every product's stock."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from bench.server import running_service
from chaos.stream import read_stream
from service._gen.erp.orders.v1 import events_pb2, order_pb2
from service.settings import Settings
from storage.schema import outbox_relays
from tests.events import event_settings, private_stream, until_published
from tests.helpers import TEST_SECRET, Stubs, authorized_channel, outcome, token

MOVES = (order_pb2.ORDER_STATUS_CONFIRMED, order_pb2.ORDER_STATUS_PICKED, order_pb2.ORDER_STATUS_SHIPPED)


@pytest.fixture(scope="module")
def relayed(mysql_url: str, engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Stubs], Settings]]:
    logs: Path = tmp_path_factory.mktemp("events-relay")
    s = event_settings(mysql_url)
    env = {
        "ORDERS_JWT_SECRET": TEST_SECRET, "ORDERS_RATE_LIMIT_READ": "off", "ORDERS_RATE_LIMIT_WRITE": "off",
        "ORDERS_RETRY_ATTEMPTS": "10", "ORDERS_IDEMPOTENCY_LEASE_S": "300", "ORDERS_SHUTDOWN_GRACE_S": "1",
        "ORDERS_LOG_LEVEL": "WARNING", "ORDERS_RELAY_IN_SERVE": "true", "ORDERS_NATS_URL": s.nats_url,
        "ORDERS_EVENTS_STREAM": s.events_stream, "ORDERS_EVENTS_SUBJECT_PREFIX": s.events_subject_prefix,
        "ORDERS_RELAY_LEASE_S": "1", "ORDERS_EVENTS_DUPLICATE_WINDOW_S": "120", "ORDERS_RELAY_POLL_INTERVAL_S": "0.02",
    }
    with engine.begin() as conn:  # relays killed by earlier tests leave their heartbeat rows behind
        conn.execute(delete(outbox_relays))
    with private_stream(s), ExitStack() as stack:
        processes = [stack.enter_context(running_service(mysql_url, env, logs / f"{name}.log")) for name in "ab"]
        bearer = token("events-relay")
        yield [Stubs.on(stack.enter_context(authorized_channel(p.port, bearer))) for p in processes], s


def _step(stubs: Stubs, order_id: str, rng: random.Random) -> str:
    if rng.random() < 0.3:
        return outcome(lambda: stubs.orders.CancelOrder(order_pb2.CancelOrderRequest(id=order_id, reason="mix")))
    target = rng.choice(MOVES)
    return outcome(lambda: stubs.orders.UpdateOrderStatus(order_pb2.UpdateOrderStatusRequest(id=order_id, status=target)))


def test_a_consumer_of_the_stream_alone_rebuilds_every_order_and_every_product(
    relayed: tuple[list[Stubs], Settings], engine: Engine, observer: Engine
) -> None:
    instances, s = relayed
    a, b = instances
    customer = a.customer()
    catalogue = [a.product(stock=40).id for _ in range(4)]
    rng = random.Random(15)
    baskets = [rng.sample(catalogue, rng.randint(1, 2)) for _ in range(40)]
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda i: outcome(lambda: instances[i % 2].order(customer.id, *[(p, 2) for p in baskets[i]])),
                             range(len(baskets))))
        assert made.count("OK") > 0
        orders = [o.id for o in a.all_orders(customer.id)]
        steps = [(oid, random.Random(n)) for n, oid in enumerate(orders * 3)]
        list(pool.map(lambda i: _step(instances[i % 2], steps[i][0], steps[i][1]), range(len(steps))))
    with observer.connect() as conn:  # both processes run a relay (a row each until it stops cleanly)
        relays = conn.execute(select(func.count()).select_from(outbox_relays)).scalar()
    assert relays == 2
    until_published(engine)
    stream = read_stream(s.nats_url, s.events_stream)

    ids = [m.headers["Nats-Msg-Id"] for m in stream]
    assert len(ids) == len(set(ids)), "the stream holds every event once"
    status: dict[str, int] = {}
    stock: dict[str, int] = {}
    sequences: defaultdict[str, list[int]] = defaultdict(list)
    for m in stream:
        if m.headers["ce-subject"].startswith("orders/"):
            event = events_pb2.OrderEvent.FromString(m.data)
            sequences[f"order-{event.order_id}"].append(event.sequence)
            status[event.order_id] = event.order.status
        else:
            moved = events_pb2.ProductStockEvent.FromString(m.data)
            sequences[f"product-{moved.product_id}"].append(moved.sequence)
            stock[moved.product_id] = moved.movement.stock_after
    for aggregate in [f"order-{o}" for o in orders] + [f"product-{p}" for p in catalogue]:
        assert sequences[aggregate] == list(range(1, len(sequences[aggregate]) + 1)), f"{aggregate}: gap, repeat or reorder"
    assert {o: status[o] for o in orders} == {o.id: o.status for o in b.all_orders(customer.id)}
    assert {p: stock[p] for p in catalogue} == {p: b.stock(p) for p in catalogue}
    assert any(st == order_pb2.ORDER_STATUS_CANCELED for st in status.values())
