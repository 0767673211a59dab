"""`erp-orders events tail` against a real nats-server: the stream's events as JSON lines, then new ones as they come."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from chaos.stream import read_stream
from service.runtime.bootstrap import unit_of_work
from service.domain.allocation import NewOrder
from service.domain.model import Caller, OrderLine
from service.usecases import customers, orders, products
from service.events.relay import Relay
from service.settings import Settings
from tests.events import event_settings, private_stream, until_published
from tests.helpers import cpf, unique

CALLER = Caller("tail-test", "req-tail")
ERP_ORDERS = str(Path(sys.executable).with_name("erp-orders"))


@contextmanager
def _relay(engine: Engine, settings: Settings) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=Relay(engine, settings).run, args=(stop,), name="tail-test-relay")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def _order(engine: Engine) -> str:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    product = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10).id
    return orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(product, 1)], "", "BRL"))[0].id


def _env(settings: Settings) -> dict[str, str]:
    mine = {"ORDERS_NATS_URL": settings.nats_url, "ORDERS_EVENTS_STREAM": settings.events_stream,
            "ORDERS_EVENTS_SUBJECT_PREFIX": settings.events_subject_prefix}
    return {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")} | mine


def test_tail_from_the_start_prints_every_event_of_the_stream_in_order_as_json(mysql_url: str, engine: Engine) -> None:
    with private_stream(event_settings(mysql_url)) as s, _relay(engine, s):
        order_id = _order(engine)
        until_published(engine)
        published = read_stream(s.nats_url, s.events_stream)
        done = subprocess.run(
            [ERP_ORDERS, "events", "tail", "--from-start", "--count", str(len(published))],
            env=_env(s), capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["id"] for line in lines] == [m.headers["ce-id"] for m in published]
    assert [line["stream_sequence"] for line in lines] == list(range(1, len(published) + 1))
    created = next(line for line in lines if line["id"] == f"order-{order_id}-1")
    assert (created["type"], created["subject"]) == ("order.created", f"orders/{order_id}")
    assert created["data"]["order"]["id"] == order_id and created["data"]["order"]["status"] == "ORDER_STATUS_PENDING"


def test_tail_follows_new_events_on_the_subjects_it_is_given(mysql_url: str, engine: Engine) -> None:
    with private_stream(event_settings(mysql_url)) as s, _relay(engine, s):
        _order(engine)
        until_published(engine)  # already in the stream: not printed without --from-start
        tail = subprocess.Popen(
            [ERP_ORDERS, "events", "tail", "order.>", "--count", "1"], env=_env(s), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert tail.stderr is not None and "following" in tail.stderr.readline()  # subscribed: what comes now is new
            order_id = _order(engine)
            out, err = tail.communicate(timeout=60)
        finally:
            tail.kill()
    assert tail.returncode == 0, err
    [line] = [json.loads(line) for line in out.splitlines()]
    assert (line["id"], line["type"]) == (f"order-{order_id}-1", "order.created")


def test_tail_without_the_stream_says_the_relay_creates_it(mysql_url: str) -> None:
    s = event_settings(mysql_url)
    done = subprocess.run([ERP_ORDERS, "events", "tail"], env=_env(s), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"no stream {s.events_stream}" in done.stderr and "the relay creates it" in done.stderr
