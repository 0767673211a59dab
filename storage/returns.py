"""Return rows and their items ↔ domain returns."""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, bindparam, insert, select

from service.domain.model import IdempotencyKey, Page, PageResult, Return, ReturnDisposition, ReturnLine
from service.domain.ports import ReturnRepository
from storage.driver_errors import key_columns
from storage.keyset import new_id, paged, split_page
from storage.schema import return_items, returns
from storage.write_behind import StatementQueue, Write

_INSERT_ITEMS = Write(insert(return_items), ("return_id", "product_id", "line", "quantity", "disposition"))
_BY_KEY = select(returns).where(returns.c.idem_principal == bindparam("principal"), returns.c.idem_key == bindparam("key"))
_ITEMS_OF = (
    select(return_items)
    .where(return_items.c.return_id.in_(bindparam("ids", expanding=True)))
    .order_by(return_items.c.return_id, return_items.c.line)
)


class SqlReturnRepository(ReturnRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql

    def add(self, order_return: Return, key: IdempotencyKey | None) -> Return:
        # A taken key fails this INSERT; the unit of work translates that into KeyTaken.
        return_id = int(new_id(self._sql.execute(insert(returns), {
            "order_id": int(order_return.order_id), "reason": order_return.reason, "actor": order_return.actor,
            "request_id": order_return.request_id, "create_time": order_return.create_time, **key_columns(key),
        })))
        self._sql.defer_rows(_INSERT_ITEMS, [
            {"return_id": return_id, "product_id": int(line.product_id), "line": i, "quantity": line.quantity, "disposition": int(line.disposition)}
            for i, line in enumerate(order_return.items)
        ])
        return replace(order_return, id=str(return_id))

    def find_by_key(self, key: IdempotencyKey) -> tuple[Return, str] | None:
        row = self._sql.execute(_BY_KEY, {"principal": key.principal, "key": key.key}).first()
        return None if row is None else (self._with_items([row])[0], row.idem_fingerprint)

    def list(self, order_id: str, page: Page) -> PageResult[Return]:
        stmt = paged(select(returns).where(returns.c.order_id == int(order_id)), returns.c.id, page)
        rows, next_after = split_page(self._sql.execute(stmt).all(), page)
        return PageResult(self._with_items(rows), next_after)

    def _with_items(self, rows: Sequence[Row[Any]]) -> builtins.list[Return]:
        """Loads the items of all these returns in one query."""
        if not rows:
            return []
        items: defaultdict[int, list[ReturnLine]] = defaultdict(list)
        for item in self._sql.execute(_ITEMS_OF, {"ids": [r.id for r in rows]}):
            items[item.return_id].append(ReturnLine(str(item.product_id), item.quantity, ReturnDisposition(item.disposition)))
        return [
            Return(str(r.id), str(r.order_id), tuple(items[r.id]), r.reason, r.actor, r.request_id, r.create_time) for r in rows
        ]
