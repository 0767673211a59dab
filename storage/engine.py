"""Creates the SQLAlchemy engine for MySQL/MariaDB or the embedded SQLite default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def make_engine(
    url: str, pool_size: int = 16, max_overflow: int = 8, pool_timeout: float = 10.0, lock_wait_timeout_s: int = 5
) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        # REPEATABLE READ is InnoDB's default; stated so nobody relies on a server setting.
        # Stock is never read-modify-written outside FOR UPDATE, which reads the latest row.
        isolation_level="REPEATABLE READ",
        connect_args={
            "charset": "utf8mb4",
            "connect_timeout": 5,
            # Bounded lock waits: a blocked transaction fails with 1205 and is re-run, never hangs.
            "init_command": f"SET SESSION innodb_lock_wait_timeout = {int(lock_wait_timeout_s)}",
        },
    )


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
