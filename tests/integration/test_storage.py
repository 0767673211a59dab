"""Storage on a real MariaDB: migrations, row locks, error translation and the last-line constraints."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, exc, select, text, update
from sqlalchemy.engine import make_url

from service.domain.errors import LockContention, StorageUnavailable
from service.domain.model import Product
from service.domain.ports import UnitOfWork
from service.usecases.retry import RetryPolicy
from service.usecases.runner import Runner
from service.settings import Settings
from storage.driver_errors import translate
from storage.migrate import upgrade
from storage.schema import Base, products
from service.runtime.bootstrap import engine as make_engine
from service.runtime.bootstrap import unit_of_work
from tests.helpers import lock_waits, unique, until

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _product(engine: Engine, stock: int = 5) -> str:
    with unit_of_work(engine) as uow:
        p = uow.products.add(Product("", unique("SKU-"), "p", "", Decimal("1.00"), "BRL", stock, True, NOW, NOW))
        uow.commit()
    return p.id


@pytest.fixture
def impatient(mysql_url: str, engine: Engine) -> Iterator[Engine]:
    """An engine whose lock waits give up after one second instead of fifty."""
    quick = make_engine(Settings(database_url=mysql_url), pool_size=4, lock_wait_timeout_s=1)
    yield quick
    quick.dispose()


def test_the_migrations_build_exactly_the_schema_the_models_describe(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_lock_returns_rows_in_ascending_id_order_and_skips_missing_ids(engine: Engine) -> None:
    ids = [_product(engine) for _ in range(3)]
    with unit_of_work(engine) as uow:
        locked = uow.products.lock([ids[2], "999999999", ids[0], ids[1], "junk"])
    assert list(locked) == sorted(ids, key=int)


def test_a_second_locker_waits_and_gives_up_as_lock_contention(engine: Engine, impatient: Engine) -> None:
    pid = _product(engine)
    with unit_of_work(engine) as holder:
        holder.products.lock([pid])
        with pytest.raises(LockContention), unit_of_work(impatient) as waiter:
            waiter.products.lock([pid])


def test_a_real_deadlock_becomes_lock_contention_for_exactly_one_side(engine: Engine, observer: Engine) -> None:
    a, b = _product(engine), _product(engine)
    both_hold_one = threading.Barrier(2, timeout=30)
    outcomes: dict[str, str] = {}

    def worker(name: str, first: str, second: str) -> None:
        try:
            with unit_of_work(engine) as uow:
                uow.products.lock([first])
                both_hold_one.wait()
                if name == "late":
                    _until_a_transaction_waits_for_a_lock(observer)
                uow.products.lock([second])  # the opposite order on purpose
                uow.commit()
            outcomes[name] = "committed"
        except LockContention:
            outcomes[name] = "contention"

    deadlocks = REGISTRY.get_sample_value("orders_db_lock_errors_total", {"kind": "deadlock"}) or 0.0
    threads = [threading.Thread(target=worker, args=args) for args in (("early", a, b), ("late", b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["committed", "contention"]
    assert REGISTRY.get_sample_value("orders_db_lock_errors_total", {"kind": "deadlock"}) == deadlocks + 1


def _until_a_transaction_waits_for_a_lock(engine: Engine) -> None:
    until(lambda: lock_waits(engine), "the other transaction waits for the lock")


def test_the_database_itself_refuses_negative_stock(engine: Engine) -> None:
    pid = _product(engine, stock=1)
    with pytest.raises(exc.DBAPIError), engine.begin() as conn:
        conn.execute(update(products).where(products.c.id == int(pid)).values(stock_quantity=-1))
    with unit_of_work(engine) as uow:
        assert uow.products.get(pid).stock_quantity == 1


def _waiting_connection(observer: Engine) -> int:
    """The id of the connection of this test database that waits for a row lock."""
    query = text(
        "SELECT p.id FROM information_schema.innodb_trx t JOIN information_schema.processlist p "
        "ON p.id = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()"
    )
    found: list[int] = []

    def waiting() -> bool:
        with observer.connect() as conn:
            found[:] = conn.execute(query).scalars().all()
        return len(found) == 1

    until(waiting, "one transaction waits for the lock")
    return found[0]


def test_a_statement_stopped_by_kill_query_is_re_run_as_a_new_transaction(engine: Engine, observer: Engine) -> None:
    pid = _product(engine)
    runner = Runner(lambda: unit_of_work(engine), RetryPolicy(attempts=3, base_delay=Settings.retry_base_delay_ms / 1000))
    attempts: list[int] = []

    def lock_and_read(uow: UnitOfWork) -> int:
        with uow:
            attempts.append(1)
            return uow.products.lock([pid])[pid].stock_quantity

    with unit_of_work(engine) as holder:
        holder.products.lock([pid])
        with ThreadPoolExecutor(1) as pool:
            waiter = pool.submit(runner, lock_and_read)
            waiting = _waiting_connection(observer)
            with observer.connect() as conn:
                conn.execute(text(f"KILL QUERY {waiting}"))  # what an operator does
            until(lambda: len(attempts) == 2, "the use case runs again")
            holder.commit()  # releases the lock for the second attempt
            assert waiter.result(timeout=30) == 5


@pytest.fixture
def time_limited(mysql_url: str, engine: Engine) -> Iterator[Engine]:
    """An engine whose statements the server stops after half a second, as a DBA's limit would:
    MariaDB's max_statement_time covers every statement (error 1969), MySQL's max_execution_time
    only SELECT, SELECT ... FOR UPDATE included (error 3024). Lock waits give up after 3 s, so the
    time limit, where it applies, is what stops a statement."""
    limited = make_engine(Settings(database_url=mysql_url), pool_size=1, lock_wait_timeout_s=3)
    # `engine` has connected (it migrated the database), so its dialect knows which server this is.
    limit = "max_statement_time = 0.5" if engine.dialect.is_mariadb else "max_execution_time = 500"
    event.listen(limited, "connect", lambda dbapi, _: dbapi.query(f"SET SESSION {limit}"))
    yield limited
    limited.dispose()


@pytest.fixture
def one_connection_account(mysql_url: str, engine: Engine) -> Iterator[Engine]:
    """An engine on an account of its own that the server lets hold one connection at a time."""
    user, password = f"orders_t_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    url = make_url(mysql_url)
    with engine.connect() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}' WITH MAX_USER_CONNECTIONS 1"))
        conn.execute(text(f"GRANT ALL ON `{url.database}`.* TO '{user}'@'%'"))
    limited = make_engine(Settings(database_url=url.set(username=user, password=password).render_as_string(hide_password=False)), pool_size=2)
    try:
        yield limited
    finally:
        limited.dispose()
        with engine.connect() as conn:
            conn.execute(text(f"DROP USER '{user}'@'%'"))


def test_a_server_that_refuses_another_connection_is_unavailable(one_connection_account: Engine) -> None:
    # A full server (max_connections, max_user_connections or the account's limit) is overload: the
    # caller gets UNAVAILABLE and retries, not INTERNAL with the driver's text.
    with unit_of_work(one_connection_account) as holder:
        holder.products.lock(["1"])
        with pytest.raises(StorageUnavailable), unit_of_work(one_connection_account):
            pass


def test_a_locking_read_over_the_statement_time_limit_is_unavailable_and_not_re_run(engine: Engine, time_limited: Engine) -> None:
    pid = _product(engine)
    runner = Runner(lambda: unit_of_work(time_limited), RetryPolicy(attempts=3, base_delay=Settings.retry_base_delay_ms / 1000))
    attempts: list[int] = []

    def lock(uow: UnitOfWork) -> None:
        with uow:
            attempts.append(1)
            uow.products.lock([pid])

    with unit_of_work(engine) as holder:
        holder.products.lock([pid])
        with pytest.raises(StorageUnavailable):
            runner(lock)
    assert attempts == [1]


def test_an_update_is_stopped_by_the_time_limit_on_mariadb_and_by_the_lock_wait_on_mysql(engine: Engine, time_limited: Engine) -> None:
    pid = _product(engine)
    with unit_of_work(engine) as holder:
        holder.products.lock([pid])
        with pytest.raises(exc.DBAPIError) as stopped, time_limited.begin() as conn:
            conn.execute(update(products).where(products.c.id == int(pid)).values(stock_quantity=4))
    expected = StorageUnavailable if engine.dialect.is_mariadb else LockContention
    assert type(translate(stopped.value, lambda _: None)) is expected


def test_nowait_on_a_locked_row_is_lock_contention(engine: Engine) -> None:
    # MariaDB refuses with 1205 (as a lock-wait timeout), MySQL with 3572.
    pid = _product(engine)
    with unit_of_work(engine) as holder:
        holder.products.lock([pid])
        with pytest.raises(exc.DBAPIError) as refused, engine.begin() as conn:
            conn.execute(select(products.c.id).where(products.c.id == int(pid)).with_for_update(nowait=True))
    kinds: list[str] = []
    assert type(translate(refused.value, kinds.append)) is LockContention
    assert kinds == ["lock_wait_timeout"]


@pytest.fixture
def empty_database(mysql_url: str) -> Iterator[Engine]:
    """A database of its own with no tables yet, dropped afterwards."""
    name = f"orders_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(mysql_url).set(database=None))
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    fresh = make_engine(Settings(database_url=make_url(mysql_url).set(database=name).render_as_string(hide_password=False)), pool_size=1)
    try:
        yield fresh
    finally:
        fresh.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def test_the_varbinary_migration_keeps_existing_keys_and_stops_padding_them(empty_database: Engine) -> None:
    upgrade(empty_database, "0003")
    with empty_database.begin() as conn:
        conn.execute(text(
            "INSERT INTO customers (name, document, email, phone, address, active, create_time, update_time) "
            "VALUES ('c', '1', 'c@example.com', '', '', 1, NOW(), NOW())"
        ))
        conn.execute(text(
            "INSERT INTO orders (customer_id, status, currency, total_cents, note, create_time, update_time, idem_principal, idem_key) "
            "SELECT id, 1, 'BRL', 0, '', NOW(), NOW(), 'carol', 'pad-é' FROM customers"
        ))
    count = text("SELECT COUNT(*) FROM orders WHERE idem_principal = :who AND idem_key = :key")

    def matches(who: str, key: str) -> int:
        with empty_database.connect() as conn:
            return int(conn.execute(count, {"who": who, "key": key}).scalar_one())

    assert matches("carol ", "pad-é ") == 1  # utf8mb4_bin pads: the bug
    upgrade(empty_database)
    assert (matches("carol", "pad-é"), matches("carol ", "pad-é"), matches("carol", "pad-é ")) == (1, 0, 0)
