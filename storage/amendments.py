"""Order amendment rows ↔ domain amendments: where AmendOrder's idempotency keys are stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, insert, select

from service.domain.model import IdempotencyKey, OrderAmendment
from service.domain.ports import AmendmentRepository
from storage.driver_errors import IDEMPOTENCY_COLUMNS, key_columns
from storage.schema import order_amendments
from storage.write_behind import StatementQueue, Write

_INSERT = Write(insert(order_amendments), ("order_id", "reason", "actor", "request_id", "create_time", *IDEMPOTENCY_COLUMNS))
_BY_KEY = select(order_amendments).where(
    order_amendments.c.idem_principal == bindparam("principal"), order_amendments.c.idem_key == bindparam("key")
)


def _amendment(row: Row[Any]) -> OrderAmendment:
    return OrderAmendment(str(row.id), str(row.order_id), row.reason, row.actor, row.request_id, row.create_time)


class SqlAmendmentRepository(AmendmentRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql

    def add(self, amendment: OrderAmendment, key: IdempotencyKey | None) -> None:
        # Written behind, first of the amendment's writes: a taken key fails the commit's batch at
        # this INSERT, before the rest, and the unit of work translates that into KeyTaken.
        self._sql.defer(_INSERT, {
            "order_id": int(amendment.order_id), "reason": amendment.reason, "actor": amendment.actor,
            "request_id": amendment.request_id, "create_time": amendment.create_time, **key_columns(key),
        })

    def find_by_key(self, key: IdempotencyKey) -> tuple[OrderAmendment, str] | None:
        row = self._sql.execute(_BY_KEY, {"principal": key.principal, "key": key.key}).first()
        return None if row is None else (_amendment(row), row.idem_fingerprint)
