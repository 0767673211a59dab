"""How a unit of work runs SQL: every statement through SQLAlchemy's `Connection.execute`, except the
writes it holds back and sends together, just before the next statement or the COMMIT.

Write-behind is the one thing here SQLAlchemy cannot do. Writes whose result nobody reads (an
order's rows and items, the stock update, the ledger, history and outbox rows) are `defer`red; on
MySQL they then leave as one multi-statement round trip instead of five, while the product rows are
locked: on a hot product the time between lock and commit is the throughput. SQLAlchemy sends one
statement per call, and a multi-statement text sent through it would lose the error of any
statement after the first (its cursor is closed, and the error of closing it only logged), so the
queued writes go to the driver's cursor of the same connection, inside the same transaction, and
each statement's result is read here.

A write is a `Write`: a Core INSERT (with the columns it binds), UPDATE or DELETE, compiled once
per dialect, and an INSERT once per row count (`Insert.values` with one row of bind parameters per
row), with the compiler's documented output (`string`, `positiontup`, `binds`) and each type's own
`bind_processor`, so values are converted exactly as `Connection.execute` would convert them.

The unit of work's `StatementQueue` is the only way its repositories reach the connection, so every
statement goes after the writes queued before it. Driver errors are wrapped the way SQLAlchemy wraps
them, so `storage.driver_errors` keeps translating every error in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection, CursorResult, Delete, Insert, RootTransaction, Update, bindparam, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

# Dialects whose connections accept several statements in one round trip (storage.engine sets
# CLIENT_MULTI_STATEMENTS on them). The others get the queue one statement at a time.
_MULTI_STATEMENT_DIALECTS = ("mysql", "mariadb")


class _Text:
    """A write's SQL for one dialect and row count: its text, and per positional parameter the row
    and key it takes its value from and the type's conversion."""

    def __init__(self, stmt: Executable, dialect: Dialect, sources: Mapping[str, tuple[int, str]], keys: Sequence[str]) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) or None)  # type: ignore[attr-defined]
        assert compiled.positiontup is not None, "the write-behind drivers (mysqlclient, sqlite3) take positional parameters"
        self.sql: str = compiled.string
        self._args = [
            (*sources.get(name, (0, name)), compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]

    def args(self, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
        return tuple(rows[i][key] if convert is None else convert(rows[i][key]) for i, key, convert in self._args)


class Write:
    """A statement the queue may hold back: a Core INSERT of the columns `keys`, an UPDATE (whose SET
    binds `keys` by name, if any) or a DELETE. It runs only through a unit of work's StatementQueue."""

    def __init__(self, stmt: Insert | Update | Delete, keys: Sequence[str] = ()) -> None:
        self._stmt = stmt
        self._keys = tuple(keys)
        self._texts: dict[tuple[str, int], _Text] = {}

    def text(self, dialect: Dialect, rows: int) -> _Text:
        text = self._texts.get((dialect.name, rows))
        if text is None:
            text = self._texts[(dialect.name, rows)] = self._compile(dialect, rows)
        return text

    def _compile(self, dialect: Dialect, rows: int) -> _Text:
        if not isinstance(self._stmt, Insert):
            assert rows == 1, "an UPDATE or DELETE takes one set of values"
            return _Text(self._stmt, dialect, {}, self._keys)
        # One row of bind parameters per row: SQLAlchemy renders the multi-row VALUES itself.
        columns = self._stmt.table.c
        sources = {f"{key}_{i}": (i, key) for i in range(rows) for key in self._keys}
        values = [{key: bindparam(f"{key}_{i}", type_=columns[key].type) for key in self._keys} for i in range(rows)]
        return _Text(self._stmt.values(values), dialect, sources, ())


class QueueClosed(RuntimeError):
    """A statement after its unit of work committed or rolled back: a bug in the caller."""


class StatementQueue:
    """A unit of work's one way to run SQL on its connection, with the writes it holds back.

    What it guarantees, in code: every statement it runs sends the queued writes first (program
    order); commit() sends them before the COMMIT; close() drops them with their transaction; and
    after either, every call raises QueueClosed, so nothing runs on the connection after its COMMIT
    (which the pool's reset shortcut, storage.engine.mark_committed, relies on).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn: Connection | None = conn
        self._pending: list[tuple[str, tuple[Any, ...]]] = []

    def _open(self) -> Connection:
        if self._conn is None:
            raise QueueClosed("a statement after its unit of work ended")
        return self._conn

    def execute(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        """Runs this statement now, after the queued writes."""
        conn = self._open()
        self._flush(conn)
        return conn.execute(stmt, params)

    def defer(self, write: Write, params: Mapping[str, Any]) -> None:
        """Queues this write, with its parameters converted now, for the next statement or the commit."""
        self.defer_rows(write, [params])

    def defer_rows(self, write: Write, rows: Sequence[Mapping[str, Any]]) -> None:
        """Queues this INSERT for all of `rows` as one multi-row statement; no rows, no statement."""
        if rows:
            text = write.text(self._open().dialect, len(rows))
            self._pending.append((text.sql, text.args(rows)))

    def commit(self, tx: RootTransaction) -> None:
        """Sends the queued writes (one round trip where the dialect allows several statements), then
        the COMMIT, and closes the queue."""
        self._flush(self._open())
        tx.commit()
        self._conn = None

    def close(self) -> None:
        """Drops the queued writes (their transaction is being rolled back) and closes the queue."""
        self._pending.clear()
        self._conn = None

    def _flush(self, conn: Connection) -> None:
        pending, self._pending = self._pending, []
        if len(pending) > 1 and conn.dialect.name in _MULTI_STATEMENT_DIALECTS:
            sql = ";\n".join(s for s, _ in pending)
            args = tuple(a for _, params in pending for a in params)
            _on_cursor(conn, sql, lambda cursor: _all_results(cursor, sql, args))
        else:
            for sql, args in pending:
                _on_cursor(conn, sql, lambda cursor: cursor.execute(sql, args))  # noqa: B023 (called at once)


def _all_results(cursor: Any, sql: str, args: tuple[Any, ...]) -> None:
    # Read every statement's result here: an error in the third statement is raised by the third
    # nextset(), and must be raised now, inside the transaction, not swallowed by cursor.close().
    cursor.execute(sql, args)
    while cursor.nextset():
        pass


def _on_cursor(conn: Connection, sql: str, call: Callable[[Any], object]) -> None:
    dialect = conn.dialect
    dbapi_conn = conn.connection.dbapi_connection
    assert dbapi_conn is not None
    cursor = dbapi_conn.cursor()
    try:
        call(cursor)
    except dialect.loaded_dbapi.Error as error:
        # Wrapped as SQLAlchemy wraps its own. A lost connection needs nothing more here: the unit
        # of work's ROLLBACK then fails on it, and SQLAlchemy drops it from the pool.
        raise exc.DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error, dialect=dialect) from error
    finally:
        with suppress(dialect.loaded_dbapi.Error):  # closing after a lost connection may fail too
            cursor.close()
