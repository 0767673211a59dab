"""The append-only stock ledger and order status history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, bindparam, insert, select

from service.domain.model import IdempotencyKey, MovementKind, OrderStatus, Page, PageResult, StatusChange, StockMovement
from service.domain.ports import HistoryRepository, LedgerRepository
from storage.driver_errors import key_columns
from storage.keyset import new_id, paged, split_page
from storage.write_behind import StatementQueue, Write
from storage.schema import status_history, stock_movements


# Every order and every cancellation writes both.
_MOVEMENT_COLUMNS = ("product_id", "kind", "delta", "stock_after", "order_id", "reason", "actor", "request_id", "create_time")
_INSERT_MOVEMENT = Write(insert(stock_movements), _MOVEMENT_COLUMNS)
_INSERT_CHANGE = Write(
    insert(status_history), ("order_id", "from_status", "to_status", "actor", "reason", "request_id", "create_time")
)
_BY_KEY = select(stock_movements).where(
    stock_movements.c.idem_principal == bindparam("principal"), stock_movements.c.idem_key == bindparam("key")
)


def _movement_values(m: StockMovement) -> dict[str, Any]:
    return {
        "product_id": int(m.product_id), "kind": int(m.kind), "delta": m.delta, "stock_after": m.stock_after,
        "order_id": int(m.order_id) if m.order_id else None, "reason": m.reason, "actor": m.actor,
        "request_id": m.request_id, "create_time": m.create_time,
    }


def _movement(row: Row[Any]) -> StockMovement:
    return StockMovement(
        str(row.id), str(row.product_id), MovementKind(row.kind), row.delta, row.stock_after,
        str(row.order_id) if row.order_id is not None else "", row.reason, row.actor, row.request_id, row.create_time,
    )


def _change(row: Row[Any]) -> StatusChange:
    return StatusChange(
        str(row.id), str(row.order_id), OrderStatus(row.from_status) if row.from_status is not None else None,
        OrderStatus(row.to_status), row.actor, row.reason, row.request_id, row.create_time,
    )


class SqlLedgerRepository(LedgerRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql
        self.appended: list[MovementKind] = []  # for the unit of work's metrics, once committed

    def add(self, movements: Sequence[StockMovement]) -> None:
        # One multi-row INSERT, queued for the commit's round trip.
        self._sql.defer_rows(_INSERT_MOVEMENT, [_movement_values(m) for m in movements])
        self.appended += [m.kind for m in movements]

    def add_one(self, movement: StockMovement, key: IdempotencyKey | None) -> StockMovement:
        # A taken key fails this INSERT; the unit of work translates that into KeyTaken.
        row_id = new_id(self._sql.execute(insert(stock_movements), {**_movement_values(movement), **key_columns(key)}))
        self.appended.append(movement.kind)
        return replace(movement, id=row_id)

    def find_by_key(self, key: IdempotencyKey) -> tuple[StockMovement, str] | None:
        row = self._sql.execute(_BY_KEY, {"principal": key.principal, "key": key.key}).first()
        return None if row is None else (_movement(row), row.idem_fingerprint)

    def list(self, product_id: str, page: Page) -> PageResult[StockMovement]:
        t = stock_movements
        stmt = paged(select(t).where(t.c.product_id == int(product_id)), t.c.id, page)
        rows, next_after = split_page(self._sql.execute(stmt).all(), page)
        return PageResult([_movement(r) for r in rows], next_after)


class SqlHistoryRepository(HistoryRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql

    def add(self, change: StatusChange) -> None:
        self.add_many([change])

    def add_many(self, changes: Sequence[StatusChange]) -> None:
        # One multi-row INSERT, queued for the commit's round trip.
        self._sql.defer_rows(
            _INSERT_CHANGE,
            [
                {
                    "order_id": int(c.order_id), "from_status": int(c.from_status) if c.from_status else None,
                    "to_status": int(c.to_status), "actor": c.actor, "reason": c.reason,
                    "request_id": c.request_id, "create_time": c.create_time,
                }
                for c in changes
            ],
        )

    def list(self, order_id: str, page: Page) -> PageResult[StatusChange]:
        t = status_history
        stmt = paged(select(t).where(t.c.order_id == int(order_id)), t.c.id, page)
        rows, next_after = split_page(self._sql.execute(stmt).all(), page)
        return PageResult([_change(r) for r in rows], next_after)
