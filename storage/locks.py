"""Row locks. The only place that issues SELECT ... FOR UPDATE.

Lock order, for every transaction in the service: first the order row (if any) and its items, then
product rows in ascending id order. Two transactions that want overlapping product sets therefore queue on the
lowest shared id instead of deadlocking; deadlocks that still happen (gap locks, foreign keys) are
retried by service.usecases.retry.

Which transaction takes which locks, in order:

- CreateOrder, alone or as a group-commit batch (service/usecases/group_commit.py): no order row
  (its orders are new); the product rows of every order of the batch, as one set, in one statement,
  ascending. The customers are read without a lock, before.
- Every use case that locks an order row reads its items with a locking read too (`lock_children`):
  under REPEATABLE READ a plain read would see the transaction's snapshot, which an earlier plain
  read (an idempotency-key lookup) may have taken before the order's last writer committed.
- CancelOrder: its order row and items, then the products of its open lines, ascending.
- Shipping (UpdateOrderStatus to SHIPPED): its order row, then the shipped products, ascending.
  Its shipment rows are written and delivered under the order row's lock and take none of their own.
- CreateReturn: its order row and items, then the products of all its lines, ascending (a SCRAP
  line's product too: its return item's foreign key would take a shared lock on it at the commit,
  after the others, out of order). Its return rows are written under the order row's lock and take none of
  their own; a return racing a shipment of the same order queues on that row, so it always sees the
  shipped units as last committed.
- AmendOrder: its order row and items, then the products of every line whose quantity changes
  (raised, lowered, added or removed), ascending, in one statement. With validate_only the same
  locks, then a rollback. Its order_amendments row (the idempotency key's) is written under the
  order row's lock, after the products' (a keyed amendment that changes nothing: with no product
  lock at all), and takes no lock of its own beyond its foreign key's shared lock on that order
  row, which it already holds exclusively. A call whose key a concurrent one has just written waits
  at that INSERT for the other to end; the other locks nothing after writing its row, so it ends.
- UpdateOrderStatus to any other status: its order row only.
- AdjustStock and the product edits: one product row. Customer edits: one customer row.

Why a batch cannot deadlock: it takes all its product locks in one ascending statement and no
other row lock after them, so it waits only on rows below the ones it holds. Against another
batch or a single order it is a transaction with a larger product set in the same order; against
AdjustStock (one product, nothing after it) the same. Against CancelOrder: the order row a cancel
holds is of an order already committed, which no batch locks, and the cancel's products come after
it in ascending order, so a batch and a cancel wait on each other's products only in ascending
order; a shipment, a return and an amendment are a cancel's twins (order row, then their products,
ascending). An amendment adds or removes lines only under its order row, so a batch never meets it on
an order row, and another cancel, shipment, return or amendment holds at most one order row, taken before any
product: two of them queue on the order row if it is the same order, and otherwise meet only on
products, which both take ascending in one statement. Any other move locks no
product. The batch's INSERTs take only implicit locks on new rows and shared locks on the customer and product rows their foreign keys name (the products are already
held exclusively); a customer edit holding that customer's row waits for nothing, so the batch just
waits for it. What remains (a gap lock on a secondary index, a customer deleted at that
instant) is a deadlock the database breaks by rolling one transaction back: a batch then rolls
back entirely and runs each order alone, on the retried single-order path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Row, Select, Table, bindparam, select

from storage.write_behind import StatementQueue


@lru_cache(maxsize=512)
def _lock(table: Table, n: int) -> Select[Any]:
    # One statement per (table, id count), built once: no IN list is built or expanded per call.
    ids = [bindparam(f"id{i}", type_=table.c.id.type) for i in range(n)]
    where = table.c.id == ids[0] if n == 1 else table.c.id.in_(ids)
    return select(table).where(where).order_by(table.c.id).with_for_update()


@lru_cache(maxsize=64)
def _lock_children(column: Column[Any], order_by: Column[Any]) -> Select[Any]:
    return select(column.table).where(column == bindparam("parent")).order_by(order_by).with_for_update()


def lock_children(sql: StatementQueue, column: Column[Any], parent: int, order_by: Column[Any]) -> Sequence[Row[Any]]:
    """The rows whose `column` names this parent, locked (the parent's lock already serializes their
    writers): a locking read returns the latest committed rows, whatever the transaction's snapshot."""
    return sql.execute(_lock_children(column, order_by), {"parent": parent}).all()


def lock_rows(sql: StatementQueue, table: Table, ids: Iterable[int]) -> Sequence[Row[Any]]:
    """Locks the rows with these ids, ascending, until the transaction ends. Missing ids are skipped."""
    keys = sorted(set(ids))
    if not keys:
        return []
    return sql.execute(_lock(table, len(keys)), {f"id{i}": key for i, key in enumerate(keys)}).all()
