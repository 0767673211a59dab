"""Row locks. The only place that issues SELECT ... FOR UPDATE.

Lock order, for every transaction in the service: first the order row (if any), then product rows
in ascending id order. Two transactions that want overlapping product sets therefore queue on the
lowest shared id instead of deadlocking; deadlocks that still happen (gap locks, foreign keys) are
retried by service.handlers.retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Row, Table, bindparam, select


def lock_rows(conn: Connection, table: Table, ids: Iterable[int]) -> Sequence[Row]:
    """Locks the rows with these ids, ascending, until the transaction ends. Missing ids are skipped."""
    stmt = (
        select(table)
        .where(table.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(table.c.id)
        .with_for_update()
    )
    return conn.execute(stmt, {"ids": sorted(set(ids))}).all()
