"""Row locks. The only place that issues SELECT ... FOR UPDATE.

Lock order, for every transaction in the service: first the order row (if any), then product rows
in ascending id order. Two transactions that want overlapping product sets therefore queue on the
lowest shared id instead of deadlocking; deadlocks that still happen (gap locks, foreign keys) are
retried by service.handlers.retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from sqlalchemy import Connection, Row, Select, Table, bindparam, select


@lru_cache(maxsize=512)
def _lock(table: Table, n: int) -> Select:
    # One statement per (table, id count), built once: SQLAlchemy then reuses its compiled form
    # instead of building, hashing and expanding an IN list on every call.
    ids = [bindparam(f"id{i}", type_=table.c.id.type) for i in range(n)]
    where = table.c.id == ids[0] if n == 1 else table.c.id.in_(ids)
    return select(table).where(where).order_by(table.c.id).with_for_update()


def lock_rows(conn: Connection, table: Table, ids: Iterable[int]) -> Sequence[Row]:
    """Locks the rows with these ids, ascending, until the transaction ends. Missing ids are skipped."""
    keys = sorted(set(ids))
    if not keys:
        return []
    return conn.execute(_lock(table, len(keys)), {f"id{i}": key for i, key in enumerate(keys)}).all()
