"""Creates the SQLAlchemy engine for MySQL/MariaDB or the embedded SQLite default."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import PoolResetState

# A pooled connection idle for longer than this is pinged before use; one in steady use is not.
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "orders_idle_since"
_COMMITTED = "orders_committed"


_IO_TIMEOUT_S = 30  # longer than any lock wait, so a slow lock is never mistaken for a dead server

# MySQL client capability flags (the protocol's values, the same in every driver). FOUND_ROWS is
# what SQLAlchemy itself sets (connect_args replaces its value, so it is repeated here).
# MULTI_STATEMENTS lets storage.write_behind send an order's queued writes in one round trip; every
# statement binds its values through the driver, so no text from a client is ever spliced into SQL.
_CLIENT_FOUND_ROWS = 1 << 1
_CLIENT_MULTI_STATEMENTS = 1 << 16


def make_engine(url: str, pool_size: int, max_overflow: int, pool_timeout: float, lock_wait_timeout_s: int) -> Engine:
    """The values come from the settings (service/runtime/bootstrap.py:engine), their one home."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        # Both are done by the events below, without a round trip per transaction when not needed.
        pool_pre_ping=False,
        pool_reset_on_return=None,
        # REPEATABLE READ is InnoDB's default; stated so nobody relies on a server setting.
        # Stock is never read-modify-written outside FOR UPDATE, which reads the latest row.
        isolation_level="REPEATABLE READ",
        connect_args={
            "charset": "utf8mb4",
            "client_flag": _CLIENT_FOUND_ROWS | _CLIENT_MULTI_STATEMENTS,
            "connect_timeout": 5,
            # No statement may hang: a silent network partition ends in a read/write timeout
            # (error 2013, StorageUnavailable), a row-lock wait in 1205 and a metadata-lock wait
            # (a concurrent ALTER) in 1205 too, both re-run by the retry policy.
            "read_timeout": _IO_TIMEOUT_S,
            "write_timeout": _IO_TIMEOUT_S,
            "init_command": (
                f"SET SESSION innodb_lock_wait_timeout = {int(lock_wait_timeout_s)}, "
                f"lock_wait_timeout = {int(lock_wait_timeout_s)}"
            ),
        },
    )
    event.listen(engine, "checkout", _ping_if_idle)
    event.listen(engine, "checkin", _mark_idle)
    event.listen(engine, "reset", _reset)
    return engine


def mark_committed(conn: Connection) -> None:
    """Tells the pool that this connection's last statement was a successful COMMIT: nothing to roll back."""
    conn.info[_COMMITTED] = True


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    # SQLAlchemy's pool_pre_ping pings on every checkout: one extra round trip per transaction.
    # A connection returned less than a second ago is alive in all but a server restart, which the
    # first statement then reports as StorageUnavailable (UNAVAILABLE: the client retries).
    record.info.pop(_COMMITTED, None)
    if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) > PING_AFTER_IDLE_S:
        try:
            dbapi_conn.ping()
        except Exception as error:  # noqa: BLE001 - any failure means this connection is unusable
            raise exc.DisconnectionError() from error  # the pool retries with a fresh connection


def _mark_idle(_dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = time.monotonic()


def _reset(dbapi_conn: Any, record: Any, state: PoolResetState) -> None:
    # The pool's default reset is a ROLLBACK on every return, even right after a COMMIT: a wasted
    # round trip. Roll back unless the transaction is known to be over (closed by Connection.close(),
    # or committed by the unit of work with nothing run since).
    committed = record.info.pop(_COMMITTED, False) if record is not None else False
    if not (state.transaction_was_reset or committed):
        dbapi_conn.rollback()


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that the BEGIN below is the only one.
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        dbapi_conn.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite has no row locks and ignores FOR UPDATE. BEGIN IMMEDIATE takes the database's
        # write lock up front, so writers run one at a time and the same invariants hold.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
