"""Shipment rows and their items ↔ domain shipments."""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update

from service.domain.errors import NotFound
from service.domain.model import IdempotencyKey, Page, PageResult, Shipment, ShipmentState
from service.domain.ports import ShipmentRepository
from storage.driver_errors import key_columns
from storage.keyset import new_id, paged, parse_id, split_page
from storage.write_behind import StatementQueue, Write
from storage.schema import shipment_items, shipments

_INSERT_ITEMS = Write(insert(shipment_items), ("shipment_id", "product_id", "quantity"))
_BY_KEY = select(shipments).where(shipments.c.idem_principal == bindparam("principal"), shipments.c.idem_key == bindparam("key"))
_ITEMS_OF = (
    select(shipment_items)
    .where(shipment_items.c.shipment_id.in_(bindparam("ids", expanding=True)))
    .order_by(shipment_items.c.shipment_id, shipment_items.c.product_id)
)


def _shipment(row: Row[Any], items: dict[str, int]) -> Shipment:
    return Shipment(
        str(row.id), str(row.order_id), items, row.carrier, row.tracking_number, ShipmentState(row.state),
        row.create_time, row.deliver_time,
    )


class SqlShipmentRepository(ShipmentRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql

    def add(self, shipment: Shipment, key: IdempotencyKey | None) -> Shipment:
        # A taken key fails this INSERT; the unit of work translates that into KeyTaken.
        shipment_id = int(new_id(self._sql.execute(insert(shipments), {
            "order_id": int(shipment.order_id), "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
            "state": int(shipment.state), "create_time": shipment.create_time, **key_columns(key),
        })))
        self._sql.defer_rows(
            _INSERT_ITEMS, [{"shipment_id": shipment_id, "product_id": int(pid), "quantity": q} for pid, q in shipment.items.items()]
        )
        return replace(shipment, id=str(shipment_id))

    def find_by_key(self, key: IdempotencyKey) -> tuple[Shipment, str] | None:
        row = self._sql.execute(_BY_KEY, {"principal": key.principal, "key": key.key}).first()
        return None if row is None else (self._with_items([row])[0], row.idem_fingerprint)

    def get(self, order_id: str, shipment_id: str) -> Shipment:
        key, order = parse_id(shipment_id), parse_id(order_id)
        rows = [] if key is None or order is None else self._sql.execute(
            select(shipments).where(shipments.c.id == key, shipments.c.order_id == order)
        ).all()
        if not rows:
            raise NotFound("shipment", shipment_id)
        return self._with_items(rows)[0]

    def of_order(self, order_id: str) -> builtins.list[Shipment]:
        rows = self._sql.execute(select(shipments).where(shipments.c.order_id == int(order_id)).order_by(shipments.c.id)).all()
        return self._with_items(rows)

    def list(self, order_id: str, page: Page) -> PageResult[Shipment]:
        stmt = paged(select(shipments).where(shipments.c.order_id == int(order_id)), shipments.c.id, page)
        rows, next_after = split_page(self._sql.execute(stmt).all(), page)
        return PageResult(self._with_items(rows), next_after)

    def deliver(self, shipment_ids: Sequence[str], when: datetime) -> None:
        if shipment_ids:
            self._sql.execute(
                update(shipments).where(shipments.c.id.in_([int(i) for i in shipment_ids]))
                .values(state=int(ShipmentState.DELIVERED), deliver_time=when)
            )

    def _with_items(self, rows: Sequence[Row[Any]]) -> builtins.list[Shipment]:
        """Loads the items of all these shipments in one query."""
        if not rows:
            return []
        items: defaultdict[int, dict[str, int]] = defaultdict(dict)
        for item in self._sql.execute(_ITEMS_OF, {"ids": [r.id for r in rows]}):
            items[item.shipment_id][str(item.product_id)] = item.quantity
        return [_shipment(r, items[r.id]) for r in rows]
