"""Row locks. The only place that issues SELECT ... FOR UPDATE.

Lock order, for every transaction in the service: first the order row (if any), then product rows
in ascending id order. Two transactions that want overlapping product sets therefore queue on the
lowest shared id instead of deadlocking; deadlocks that still happen (gap locks, foreign keys) are
retried by service.handlers.retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select

from storage.prepared import Prepared


@lru_cache(maxsize=512)
def _lock(table: Table, n: int) -> Prepared:
    # One statement per (table, id count), compiled once: no IN list is built or expanded per call.
    ids = [bindparam(f"id{i}", type_=table.c.id.type) for i in range(n)]
    where = table.c.id == ids[0] if n == 1 else table.c.id.in_(ids)
    return Prepared(select(table).where(where).order_by(table.c.id).with_for_update())


def lock_rows(conn: Connection, table: Table, ids: Iterable[int]) -> list[Any]:
    """Locks the rows with these ids, ascending, until the transaction ends. Missing ids are skipped."""
    keys = sorted(set(ids))
    if not keys:
        return []
    return _lock(table, len(keys)).rows(conn, {f"id{i}": key for i, key in enumerate(keys)})
