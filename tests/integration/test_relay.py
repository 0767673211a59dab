"""The relay on MariaDB and a real nats-server: publish once, in order, mark after the PubAck, survive outages."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, exc, select, update
from sqlalchemy.engine import make_url

from chaos.nats_server import NatsProcess
from chaos.proxy import TcpProxy
from chaos.stream import read_stream
from service.domain.allocation import NewOrder
from service.runtime import bootstrap
from service import metrics
from service._gen.erp.orders.v1 import events_pb2
from service.domain.model import Caller, OrderLine, OrderStatus
from service.usecases import customers, orders, products
from service.events.relay import Relay
from service.settings import Settings
from storage.leases import Leases
from storage.schema import outbox_events, outbox_leases, outbox_relays
from service.runtime.bootstrap import unit_of_work
from tests.conftest import fresh_database
from tests.events import event_settings, private_stream, until_published
from tests.helpers import cpf, unique, until

CALLER = Caller("relay-test", "req-relay")
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running_relay(engine: Engine, settings: Settings, owner: str = "") -> Iterator[Relay]:
    stop = threading.Event()
    relay = Relay(engine, settings, owner)
    thread = threading.Thread(target=relay.run, args=(stop,), name="test-relay")
    thread.start()
    try:
        yield relay
    finally:
        stop.set()
        thread.join(30)


def _order(engine: Engine, quantity: int = 1) -> tuple[str, str]:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10).id
    order, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, quantity)], "", "BRL"))
    return order.id, pid


def test_the_relay_publishes_each_event_with_its_id_and_cloudevents_headers_then_marks_it(mysql_url: str, engine: Engine) -> None:
    order_id, pid = _order(engine)
    orders.update_order_status(unit_of_work(engine), CALLER, order_id, OrderStatus.CONFIRMED, "")
    with private_stream(event_settings(mysql_url)) as s, running_relay(engine, s):
        until_published(engine)
        stream = read_stream(s.nats_url, s.events_stream)
    mine = [m for m in stream if m.headers["ce-subject"] == f"orders/{order_id}"]
    assert [m.subject for m in mine] == [f"{s.events_subject_prefix}.order.created", f"{s.events_subject_prefix}.order.status_changed"]
    first = mine[0].headers
    assert first["Nats-Msg-Id"] == first["ce-id"] == f"order-{order_id}-1"
    assert first["ce-specversion"] == "1.0" and first["ce-type"] == f"{s.events_subject_prefix}.order.created"
    assert first["ce-source"] == "/erp-orders" and first["content-type"] == "application/protobuf"
    assert datetime.fromisoformat(first["ce-time"]) <= datetime.now(UTC)
    assert [events_pb2.OrderEvent.FromString(m.data).sequence for m in mine] == [1, 2]
    stock = [events_pb2.ProductStockEvent.FromString(m.data) for m in stream if m.headers["ce-subject"] == f"products/{pid}"]
    assert [(e.sequence, e.movement.stock_after) for e in stock] == [(1, 10), (2, 9)]


def test_json_payloads_carry_their_content_type(mysql_url: str, engine: Engine) -> None:
    order_id, _ = _order(engine)
    with private_stream(event_settings(mysql_url, events_format="json")) as s, running_relay(engine, s):
        until_published(engine)
        stream = read_stream(s.nats_url, s.events_stream)
    created = next(m for m in stream if m.headers["ce-id"] == f"order-{order_id}-1")
    assert created.headers["content-type"] == "application/json"
    assert b'"orderId": "%s"' % order_id.encode() in created.data or b'"orderId":"%s"' % order_id.encode() in created.data


_KILLED_RELAY = """
import os, signal, sys, threading
from service.events.relay import Relay
from service.settings import Settings
from service.runtime.bootstrap import engine
from storage import outbox
url, nats_url, stream, prefix = sys.argv[1:5]
settings = Settings(database_url=url, nats_url=nats_url, events_stream=stream, events_subject_prefix=prefix,
                    relay_lease_s=1.0, events_duplicate_window_s=120.0)
# Die the hard way after the PubAcks, before marking anything published.
mark_published = outbox.mark_published
def die_before_marking(db, ids, now):
    if ids:
        os.kill(os.getpid(), signal.SIGKILL)
    mark_published(db, ids, now)
outbox.mark_published = die_before_marking
Relay(engine(settings), settings).run(threading.Event())
"""


def test_a_relay_killed_between_publish_and_mark_leaves_each_event_in_the_stream_once(mysql_url: str, engine: Engine) -> None:
    made = [_order(engine) for _ in range(3)]
    ids = {f"order-{o}-1" for o, _ in made} | {f"product-{p}-{n}" for _, p in made for n in (1, 2)}
    with private_stream(event_settings(mysql_url)) as s:
        args = [sys.executable, "-c", _KILLED_RELAY, mysql_url, s.nats_url, s.events_stream, s.events_subject_prefix]
        killed = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=120, env={**os.environ})
        assert killed.returncode == -9, killed.stderr.decode()
        before = read_stream(s.nats_url, s.events_stream)
        assert ids <= {m.headers["Nats-Msg-Id"] for m in before}  # published...
        with engine.connect() as conn:  # ...and not marked
            marked = conn.execute(select(outbox_events.c.publish_time).where(outbox_events.c.aggregate_id == int(made[0][0]),
                                                                             outbox_events.c.aggregate_type == "order")).scalar()
        assert marked is None
        duplicates = metrics.EVENTS_PUBLISHED.labels("duplicate")._value.get()
        with running_relay(engine, s):  # takes the partitions over once the dead relay's leases expire
            until_published(engine)
        after = read_stream(s.nats_url, s.events_stream)
    mine = [m.headers["Nats-Msg-Id"] for m in after if m.headers["Nats-Msg-Id"] in ids]
    assert sorted(mine) == sorted(ids)  # each exactly once
    assert metrics.EVENTS_PUBLISHED.labels("duplicate")._value.get() >= duplicates + len(ids)


def test_with_nats_down_orders_succeed_and_the_relay_catches_up_when_it_returns(
    mysql_url: str, engine: Engine, tmp_path: Path
) -> None:
    broker = NatsProcess(tmp_path / "nats")
    try:
        with private_stream(event_settings(mysql_url, nats_url=broker.url)) as s, running_relay(engine, s):
            first, _ = _order(engine)
            until_published(engine)
            broker.stop()
            with ThreadPoolExecutor(4) as pool:  # orders keep succeeding while the broker is away
                made = list(pool.map(lambda _: _order(engine)[0], range(12)))
            until(lambda: metrics.OUTBOX_BACKLOG._value.get() > 0, "the backlog metric shows the waiting events")
            broker.start()
            until_published(engine)
            stream = read_stream(s.nats_url, s.events_stream)
            until(lambda: metrics.OUTBOX_BACKLOG._value.get() == 0, "the backlog metric drains")
    finally:
        broker.stop()
    published = {m.headers["Nats-Msg-Id"] for m in stream}
    assert {f"order-{o}-1" for o in [first, *made]} <= published


def test_two_relays_share_the_partitions_by_leases(engine: Engine) -> None:
    now = datetime.now(UTC)
    a, b = Leases(engine, unique("a-"), 16, 5.0), Leases(engine, unique("b-"), 16, 5.0)
    with engine.begin() as conn:  # relays of earlier tests are gone
        conn.execute(delete(outbox_relays))
    a.ensure_rows()
    with engine.begin() as conn:  # leases of earlier tests' relays have expired or been released
        conn.execute(update(outbox_leases).values(owner="", expire_time=now - timedelta(seconds=1)))
    assert len(a.claim(now)) == 16
    assert b.claim(now) == set()  # all taken, none expired
    assert len(a.claim(now)) == 8  # a sees two live relays and lets half go
    held_b = b.claim(now)
    assert len(held_b) == 8 and held_b.isdisjoint(a.claim(now))
    a.release_all()
    assert len(b.claim(now)) == 16
    b.release_all()


def test_published_events_past_the_retention_are_pruned_in_small_batches(mysql_url: str, engine: Engine) -> None:
    made = [_order(engine)[0] for _ in range(3)]
    old = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as conn:
        conn.execute(update(outbox_events).where(outbox_events.c.publish_time.is_(None)).values(publish_time=old))
        waiting = conn.execute(
            update(outbox_events).where(outbox_events.c.aggregate_type == "order", outbox_events.c.aggregate_id == int(made[0]))
            .values(publish_time=None)
        )
    assert waiting.rowcount == 1
    settings = event_settings(mysql_url, outbox_prune_batch=2, outbox_retention_s=86400.0)
    pruned = Relay(engine, settings).prune()
    assert pruned >= 8  # 3 orders with a product each: at least 3 × (order + 2 stock events) − the one kept
    with engine.connect() as conn:
        left = conn.execute(select(outbox_events.c.aggregate_type, outbox_events.c.aggregate_id, outbox_events.c.publish_time)).all()
    assert not [r for r in left if r.publish_time is not None and r.publish_time <= old]
    assert ("order", int(made[0]), None) in [tuple(r) for r in left]  # unpublished: kept, however old


def test_a_relay_that_loses_its_database_waits_and_publishes_once_it_returns(
    mysql_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_url(mysql_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 3306)
    proxy.start()
    settings = event_settings(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    proxied = bootstrap.engine(settings, pool_size=2, max_overflow=0)
    try:
        with private_stream(settings) as s, running_relay(proxied, s):
            first, _ = _order(engine)
            until_published(engine)
            proxy.cut()
            second, _ = _order(engine)  # committed straight to the database, while the relay cannot reach it
            until(lambda: any("the database is unavailable" in r.getMessage() for r in caplog.records), "the relay noticed")
            proxy.start()
            until_published(engine)
            stream = read_stream(s.nats_url, s.events_stream)
    finally:
        proxy.cut()
        proxied.dispose()
    ids = [m.headers["Nats-Msg-Id"] for m in stream]
    assert {f"order-{first}-1", f"order-{second}-1"} <= set(ids) and len(ids) == len(set(ids))


def test_a_database_error_that_waiting_cannot_fix_ends_the_relay_instead_of_retrying() -> None:
    with fresh_database() as url:  # no migrations: the outbox tables do not exist
        settings = event_settings(url)
        unmigrated = bootstrap.engine(settings, pool_size=1, max_overflow=0)
        stop = threading.Event()
        try:
            with ThreadPoolExecutor(1) as pool:
                running = pool.submit(Relay(unmigrated, settings).run, stop)
                with pytest.raises(exc.ProgrammingError, match="doesn't exist"):
                    running.result(timeout=60)
        finally:
            stop.set()
            unmigrated.dispose()


def test_the_relay_logs_its_life_one_line_per_change_of_state_and_one_per_interval(
    mysql_url: str, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.events.relay")
    lines = lambda: [r.getMessage() for r in caplog.records if r.name == "service.events.relay"]  # noqa: E731
    seen = lambda text: until(lambda: any(text in line for line in lines()), f"the relay logged {text!r}")  # noqa: E731
    url = make_url(mysql_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 3306)
    proxy.start()
    broker = NatsProcess(tmp_path / "nats")
    settings = event_settings(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), nats_url=broker.url, relay_log_interval_s=0.5,
    )
    proxied = bootstrap.engine(settings, pool_size=2, max_overflow=0)
    try:
        with private_stream(settings) as s, running_relay(proxied, s):
            seen("caught up")
            _order(engine)
            seen("published 3 events in the last 0.5 s, lag from change to PubAck")  # the order and its product's two ledger rows
            broker.stop()
            seen("lost NATS")
            broker.start()
            seen("regained NATS")
            proxy.cut()
            seen("the database is unavailable")
            proxy.start()
            seen("regained the database")
    finally:
        broker.stop()
        proxy.cut()
        proxied.dispose()
    logged = lines()
    assert logged[0].startswith("relay ") and f"started (NATS {broker.url}, stream {settings.events_stream})" in logged[0]
    assert logged[1] == f"relay: connected to NATS at {broker.url}, stream {settings.events_stream}"
    assert logged[-1] == "relay: stopping; its leases are released"
    for once in ("lost NATS", "regained NATS", "the database is unavailable", "regained the database"):
        assert sum(once in line for line in logged) == 1, logged  # retried every second, logged once
