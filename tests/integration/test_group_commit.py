"""Group commit on MariaDB (service/usecases/group_commit.py): orders that share one transaction each
get exactly the answer they would get alone, and a batch fails as a whole or not at all.

Calls are made to meet in one batch by a held combiner (tests/helpers.py HeldCombiner), which keeps
them queued until they all are; each call is started only once the one before it is queued, so the arrival order is
the order of the list.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, text

from service.domain.allocation import NewOrder
from service.domain.errors import InsufficientStock, NotFound, NotOrderable, StorageUnavailable
from service.domain.model import Caller, IdempotencyKey, Order, OrderLine, Page
from service.usecases import customers, products
from service.usecases.group_commit import OrderPlacer
from service.usecases.retry import RetryPolicy
from service.usecases.runner import Runner
from service.runtime.bootstrap import engine as make_engine
from service.settings import Settings
from storage.migrate import upgrade
from service.runtime.bootstrap import unit_of_work
from tests.helpers import cpf, held_combiners, unique, until

CALLER = Caller("group-commit", "req")


class Batches:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        run = Runner(lambda: unit_of_work(engine), RetryPolicy(10, 0.005))
        with held_combiners() as made:
            self.place = OrderPlacer(run, lambda: unit_of_work(engine), 64, 256, 1)
        self.combiner, = made

    def one_batch(self, calls: list[NewOrder]) -> list[tuple[Order, bool] | Exception]:
        """Runs the calls as one batch, in this arrival order; each call's answer or error."""
        combiner = self.combiner
        combiner.hold()
        with ThreadPoolExecutor(len(calls)) as pool:
            futures = []
            for i, call in enumerate(calls):
                if i:  # the one before is queued
                    until(lambda queued=i: combiner.waiting() >= queued, f"call {i - 1} is queued", every=0.005)
                futures.append(pool.submit(self.place, call))
            combiner.let_go(len(calls))
            return [f.exception() or f.result() for f in futures]  # type: ignore[misc]

    def customer(self) -> str:
        return customers.create_customer(unit_of_work(self.engine), "c", cpf(), f"{unique()}@example.com", "", "").id

    def product(self, stock: int) -> str:
        uow = unit_of_work(self.engine)
        return products.create_product(uow, CALLER, unique("SKU-"), "p", "", Decimal("1.00"), "BRL", stock).id

    def stock(self, product_id: str) -> int:
        return products.get_product(unit_of_work(self.engine), product_id).stock_quantity

    def ledger(self, product_id: str) -> list[tuple[int, int]]:
        with unit_of_work(self.engine) as uow:
            return [(m.delta, m.stock_after) for m in uow.ledger.list(product_id, Page(1000)).items]


def order(customer: str, *lines: tuple[str, int], key: str | None = None, note: str = "", fingerprint: str = "fp") -> NewOrder:
    idem = IdempotencyKey("group-commit", key, fingerprint) if key else None
    return NewOrder(CALLER, customer, [OrderLine(p, q) for p, q in lines], note, "BRL", idem)


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@contextmanager
def batch_sizes() -> Iterator[list[float]]:
    """[batches, orders] that went through group commit meanwhile."""
    before = _sample("orders_create_batch_size_count"), _sample("orders_create_batch_size_sum")
    seen: list[float] = []
    yield seen
    seen += [_sample("orders_create_batch_size_count") - before[0], _sample("orders_create_batch_size_sum") - before[1]]


def _fallbacks(reason: str) -> float:
    return _sample("orders_create_batch_fallbacks_total", {"reason": reason})


@pytest.fixture
def batches(engine: Engine) -> Batches:
    return Batches(engine)


def test_a_short_order_gets_its_own_violations_while_the_others_in_its_batch_commit(batches: Batches) -> None:
    customer, pid = batches.customer(), batches.product(stock=5)
    with batch_sizes() as seen:
        first, short, last = batches.one_batch([order(customer, (pid, 2)), order(customer, (pid, 4)), order(customer, (pid, 3))])
    assert seen == [1, 3]  # one batch of three
    assert isinstance(first, tuple) and isinstance(last, tuple)
    assert isinstance(short, InsufficientStock)
    assert [(s.product_id, s.requested, s.available) for s in short.shortages] == [(pid, 4, 3)]
    assert batches.stock(pid) == 0
    assert batches.ledger(pid) == [(5, 5), (-2, 3), (-3, 0)]
    assert [i.quantity for i in first[0].items] == [2] and [i.quantity for i in last[0].items] == [3]


def test_two_calls_with_one_key_in_one_batch_make_one_order(batches: Batches) -> None:
    customer, pid, k = batches.customer(), batches.product(stock=10), unique("k-")
    other = unique("k-")
    made = batches.one_batch([
        order(customer, (pid, 1), key=k), order(customer, (pid, 2), key=other), order(customer, (pid, 1), key=k),
        order(customer, (pid, 1), key=k, fingerprint="another request"),
    ])
    (a, replayed_a), (b, _), (c, replayed_c) = made[:3]  # type: ignore[misc]
    assert (replayed_a, replayed_c) == (False, True) and a.id == c.id != b.id
    assert type(made[3]).__name__ == "IdempotencyKeyReused"
    assert batches.stock(pid) == 7


def test_a_key_already_stored_replays_while_the_rest_of_its_batch_creates_orders(batches: Batches) -> None:
    customer, pid, k = batches.customer(), batches.product(stock=10), unique("k-")
    (stored, _), = batches.one_batch([order(customer, (pid, 1), key=k)])  # type: ignore[misc]
    fallbacks = _fallbacks("key_taken")
    made = batches.one_batch([order(customer, (pid, 2)), order(customer, (pid, 1), key=k), order(customer, (pid, 3), key=unique())])
    assert [r[1] for r in made] == [False, True, False]  # type: ignore[index]
    assert made[1][0].id == stored.id  # type: ignore[index]
    assert _fallbacks("key_taken") == fallbacks + 1  # the unique index refused the batch; each ran alone
    assert batches.stock(pid) == 10 - 1 - 2 - 3


def test_a_deleted_customer_an_inactive_product_and_an_unknown_product_refuse_only_their_own_order(batches: Batches) -> None:
    customer, gone = batches.customer(), batches.customer()
    customers.delete_customer(unit_of_work(batches.engine), gone)
    pid, inactive = batches.product(stock=10), batches.product(stock=10)
    products.update_product(unit_of_work(batches.engine), inactive, {"active": False})
    with batch_sizes() as seen:
        made = batches.one_batch([
            order(customer, (pid, 1)), order(gone, (pid, 1)), order(customer, (pid, 1), (inactive, 1)),
            order(customer, (pid, 1), ("999999999", 1)), order("not-an-id", (pid, 1)), order(customer, (pid, 2)),
        ])
    assert seen == [1, 6]
    ok, deleted, not_orderable, unknown, no_customer, ok2 = made
    assert isinstance(ok, tuple) and isinstance(ok2, tuple)
    assert isinstance(deleted, NotOrderable) and deleted.reason == "CUSTOMER_DELETED"
    assert isinstance(not_orderable, NotOrderable) and not_orderable.reason == "PRODUCT_INACTIVE"
    assert isinstance(unknown, NotFound) and (unknown.resource, unknown.resource_id) == ("product", "999999999")
    assert isinstance(no_customer, NotFound) and no_customer.resource == "customer"
    assert batches.stock(pid) == 7 and batches.stock(inactive) == 10


@contextmanager
def trigger_on_orders(engine: Engine, body: str, *setup: str) -> Iterator[None]:
    """A BEFORE INSERT trigger on this test database's orders, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        for statement in setup:
            conn.execute(text(statement.format(name=name)))
        conn.execute(text(f"CREATE TRIGGER {name} BEFORE INSERT ON orders FOR EACH ROW BEGIN {body.format(name=name)} END"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            conn.execute(text(f"DROP TABLE IF EXISTS {name}_once"))


def test_a_foreign_key_failure_of_the_batch_gives_every_order_its_own_answer(batches: Batches) -> None:
    customer, pid = batches.customer(), batches.product(stock=7)
    # The first INSERT of a 'fail-once' order fails as a broken foreign key would; the MyISAM table
    # that remembers it is not transactional (on MariaDB and MySQL alike), so the single-order re-run
    # passes. No single order explains the failure.
    fail_once = (
        "IF NEW.note = 'fail-once' AND NOT EXISTS (SELECT 1 FROM {name}_once) THEN "
        "INSERT INTO {name}_once VALUES (1); "
        "SIGNAL SQLSTATE '23000' SET MESSAGE_TEXT = 'injected', MYSQL_ERRNO = 1452; END IF;"
    )
    fallbacks = _fallbacks("unexpected")
    with trigger_on_orders(batches.engine, fail_once, "CREATE TABLE {name}_once (failed INT PRIMARY KEY) ENGINE=MyISAM"):
        made = batches.one_batch([
            order(customer, (pid, 1)), order(customer, (pid, 2), note="fail-once"), order(customer, (pid, 3)),
            order(customer, (pid, 8)), order(customer, (pid, 1)),
        ])
    assert _fallbacks("unexpected") == fallbacks + 1
    # Run alone, side by side as separate calls would: every outcome here is the same in any order.
    assert [type(r).__name__ for r in made] == ["tuple", "tuple", "tuple", "InsufficientStock", "tuple"]
    assert batches.stock(pid) == 0
    deltas = [d for d, _ in batches.ledger(pid)]
    assert sorted(deltas[1:]) == [-3, -2, -1, -1] and sum(deltas) == 0  # written once each, nothing of the failed batch


def test_a_connection_killed_in_the_batch_transaction_gives_every_caller_unavailable_and_writes_nothing(
    batches: Batches, observer: Engine
) -> None:
    customer, pid = batches.customer(), batches.product(stock=10)
    lock = f"group-commit-{uuid.uuid4().hex[:8]}"
    keys = [unique("k-") for _ in range(3)]
    calls = [order(customer, (pid, q), key=k, note="held") for q, k in zip((1, 2, 3), keys, strict=True)]
    held = f"IF NEW.note = 'held' THEN SET @got = GET_LOCK('{lock}', 60); SET @got = RELEASE_LOCK('{lock}'); END IF;"
    with observer.connect() as holder, trigger_on_orders(batches.engine, held):
        assert holder.execute(text("SELECT GET_LOCK(:l, 5)"), {"l": lock}).scalar() == 1
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(batches.one_batch, calls)
            # The batch's INSERT now waits inside its transaction, under the product lock.
            waiting = text(
                "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND state LIKE '%user lock%'"
            )
            with batches.engine.connect() as conn:
                until(lambda: conn.execute(waiting).first() is not None, "the batch waits in its transaction")
                conn.execute(text(f"KILL CONNECTION {int(conn.execute(waiting).scalar_one())}"))
                conn.commit()
            made = pending.result()
        holder.execute(text("SELECT RELEASE_LOCK(:l)"), {"l": lock})
    assert all(isinstance(r, StorageUnavailable) for r in made), made
    assert batches.stock(pid) == 10 and len(batches.ledger(pid)) == 1
    retried = batches.one_batch(calls)
    again = batches.one_batch(calls)
    assert [r[1] for r in retried] == [False] * 3 and [r[1] for r in again] == [True] * 3  # type: ignore[index]
    assert [r[0].id for r in retried] == [r[0].id for r in again]  # type: ignore[index]
    assert batches.stock(pid) == 4


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"))
    upgrade(engine)
    yield engine
    engine.dispose()


def test_the_embedded_sqlite_default_batches_too(sqlite_engine: Engine) -> None:
    batches = Batches(sqlite_engine)
    customer, pid = batches.customer(), batches.product(stock=5)
    with batch_sizes() as seen:
        made = batches.one_batch([order(customer, (pid, 2)), order(customer, (pid, 4)), order(customer, (pid, 3), key=unique())])
    assert seen == [1, 3]
    assert [type(r).__name__ for r in made] == ["tuple", "InsufficientStock", "tuple"]
    assert batches.stock(pid) == 0 and batches.ledger(pid) == [(5, 5), (-2, 3), (-3, 0)]
