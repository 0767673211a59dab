"""The watch feed on MariaDB: one reader fans out in outbox order, and a watcher that stops reading overflows."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from sqlalchemy import Engine

from service.domain.allocation import NewOrder
from service.domain.model import Caller, OrderLine
from service.usecases import customers, orders, products
from service.events.watch import Feed, Filter
from service.runtime.bootstrap import unit_of_work
from tests.helpers import cpf, unique, until

CALLER = Caller("feed-test", "req-feed")


def test_a_watcher_that_reads_nothing_overflows_its_queue_and_keeps_only_the_events_before(engine: Engine) -> None:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10).id
    feed = Feed(engine, poll_interval_s=0.01, gap_grace_s=1.0, queue_size=2)
    try:
        slow, other = feed.subscribe(Filter(customer_id=int(customer))), feed.subscribe(Filter(customer_id=-1))
        made = [orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 1)], "", "BRL"))[0].id for _ in range(4)]
        until(lambda: slow.overflowed, "the slow watcher overflows", seconds=30, every=0.01)
    finally:
        feed.stop()
    kept = [slow.events.get_nowait() for _ in range(slow.events.qsize())]
    assert [e.aggregate_id for e in kept] == [int(m) for m in made[:2]]  # the first two, in order, and nothing after
    assert other.events.empty() and not other.overflowed  # its filter matched none of them


def test_a_watcher_that_overflows_while_the_transport_holds_its_last_event_is_ended_by_the_reader(engine: Engine) -> None:
    customer = customers.create_customer(unit_of_work(engine), "c", cpf(), f"{unique()}@example.com", "", "").id
    pid = products.create_product(unit_of_work(engine), CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 10).id
    feed = Feed(engine, poll_interval_s=0.01, gap_grace_s=1.0, queue_size=1)
    try:
        stalled, reading = feed.subscribe(Filter(customer_id=int(customer))), feed.subscribe(Filter(customer_id=int(customer)))
        ended, reading_ended = threading.Event(), threading.Event()
        stalled.end, reading.end = ended.set, reading_ended.set
        stalled.sending_since = time.monotonic() - 60  # its stream waits inside the transport
        for _ in range(2):
            orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer, [OrderLine(pid, 1)], "", "BRL"))
        until(lambda: ended.is_set(), "the stalled watcher is ended", seconds=30, every=0.01)
    finally:
        feed.stop()
    # Both fell behind; the one whose stream is not inside the transport ends itself, with its token.
    assert stalled.overflowed and reading.overflowed and not reading_ended.is_set()
