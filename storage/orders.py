"""Order rows and their items ↔ domain orders."""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, delete, insert, or_, select, tuple_, update

from service.domain.errors import NotFound
from service.domain.model import (
    IdempotencyKey,
    Order,
    OrderItem,
    OrderStatus,
    Page,
    PageResult,
    parse_update_cursor,
    update_cursor,
)
from service.domain.ports import OrderFilter, OrderRepository, OrderSort
from storage import addresses
from storage.driver_errors import IDEMPOTENCY_COLUMNS, key_columns
from storage.ids import new_ids
from storage.keyset import paged, parse_id, split_page
from storage.locks import lock_children, lock_rows
from storage.write_behind import StatementQueue, Write
from storage.products import from_cents, to_cents
from storage.schema import order_items, orders

_ITEMS_OF = (
    select(order_items)
    .where(order_items.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(order_items.c.order_id, order_items.c.line)
)
_ITEMS_OF_ONE = select(order_items).where(order_items.c.order_id == bindparam("id")).order_by(order_items.c.line)
_BY_KEY = select(orders).where(orders.c.idem_principal == bindparam("principal"), orders.c.idem_key == bindparam("key"))
# An order and its items in one round trip (orders always have items; LEFT JOIN all the same). The
# item columns chosen share no name with an order column, so each row reads as an order and an item.
_GET = (
    select(
        orders, order_items.c.product_id, order_items.c.sku, order_items.c.quantity, order_items.c.unit_price_cents,
        order_items.c.shipped_quantity, order_items.c.canceled_quantity, order_items.c.returned_quantity,
    )
    .outerjoin(order_items, order_items.c.order_id == orders.c.id)
    .where(orders.c.id == bindparam("id"))
    .order_by(order_items.c.line)
)
_INSERT = Write(
    insert(orders),
    (
        "id", "customer_id", "status", "currency", "total_cents", "note", "create_time", "update_time", "external_reference",
        "shipping_address", *IDEMPOTENCY_COLUMNS,
    ),
)
_INSERT_ITEMS = Write(insert(order_items), ("order_id", "product_id", "line", "sku", "quantity", "unit_price_cents"))
_SAVE = Write(
    update(orders).where(orders.c.id == bindparam("order_id")),
    ("status", "version", "update_time"),
)
_SAVE_LINE = Write(
    update(order_items).where(order_items.c.order_id == bindparam("line_order"), order_items.c.product_id == bindparam("line_product")),
    ("shipped_quantity", "canceled_quantity", "returned_quantity"),
)

# AmendOrder: a line's units and position, a line removed, and the order with its new total.
_AMEND_LINE = Write(
    update(order_items).where(order_items.c.order_id == bindparam("line_order"), order_items.c.product_id == bindparam("line_product")),
    ("quantity", "line"),
)
_REMOVE_LINE = Write(
    delete(order_items).where(order_items.c.order_id == bindparam("line_order"), order_items.c.product_id == bindparam("line_product"))
)
_AMEND = Write(update(orders).where(orders.c.id == bindparam("order_id")), ("total_cents", "version", "update_time"))


def _item(row: Row[Any]) -> OrderItem:
    return OrderItem(
        str(row.product_id), row.sku, row.quantity, from_cents(row.unit_price_cents), row.shipped_quantity, row.canceled_quantity,
        row.returned_quantity,
    )


def _order(row: Row[Any], items: list[OrderItem]) -> Order:
    return Order(
        str(row.id), str(row.customer_id), OrderStatus(row.status), items, row.currency, row.note,
        row.create_time, row.update_time, row.external_reference or "", addresses.from_json(row.shipping_address), row.version,
    )


def _order_values(order: Order, key: IdempotencyKey | None) -> dict[str, Any]:
    return {
        "id": int(order.id), "customer_id": int(order.customer_id), "status": int(order.status),
        "currency": order.currency, "total_cents": to_cents(order.total), "note": order.note,
        "create_time": order.create_time, "update_time": order.update_time,
        "external_reference": order.external_reference or None, "shipping_address": addresses.to_json(order.shipping_address),
        **key_columns(key),
    }


class SqlOrderRepository(OrderRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql

    def add_many(self, orders: Sequence[tuple[Order, IdempotencyKey | None]]) -> None:
        # The ids are the service's (storage/ids.py), so nothing here waits for the database: the
        # rows are written behind, with the stock, ledger and history rows, in one round trip at
        # the commit. A taken key or id fails that round trip, and the unit of work translates it.
        for (order, _), order_id in zip(orders, new_ids(len(orders)), strict=True):
            order.id = str(order_id)
        self._sql.defer_rows(_INSERT, [_order_values(order, key) for order, key in orders])
        self._sql.defer_rows(
            _INSERT_ITEMS,
            [
                {
                    "order_id": int(order.id), "product_id": int(i.product_id), "line": line, "sku": i.sku,
                    "quantity": i.quantity, "unit_price_cents": to_cents(i.unit_price),
                }
                for order, _ in orders
                for line, i in enumerate(order.items)
            ],
        )

    def find_by_key(self, key: IdempotencyKey) -> tuple[Order, str] | None:
        row = self._sql.execute(_BY_KEY, {"principal": key.principal, "key": key.key}).first()
        return None if row is None else (self._with_items([row])[0], row.idem_fingerprint)

    def get(self, order_id: str) -> Order:
        key = parse_id(order_id)
        rows = [] if key is None else self._sql.execute(_GET, {"id": key}).all()
        if not rows:
            raise NotFound("order", order_id)
        return _order(rows[0], [_item(r) for r in rows if r.product_id is not None])

    def find_references(self, references: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        pairs = [(key, ref) for cid, ref in references if (key := parse_id(cid)) is not None]
        if not pairs:
            return {}
        stmt = select(orders.c.id, orders.c.customer_id, orders.c.external_reference).where(
            tuple_(orders.c.customer_id, orders.c.external_reference).in_(pairs)
        )
        return {(str(r.customer_id), r.external_reference): str(r.id) for r in self._sql.execute(stmt)}

    def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        keys = sorted({key for key in map(parse_id, order_ids) if key is not None})
        if not keys:
            return {}
        rows = self._sql.execute(select(orders).where(orders.c.id.in_(keys))).all()
        return {order.id: order for order in self._with_items(rows)}

    def lock(self, order_id: str) -> Order:
        key = parse_id(order_id)
        rows = [] if key is None else lock_rows(self._sql, orders, [key])
        if not rows:
            raise NotFound("order", order_id)
        return _order(rows[0], [_item(r) for r in lock_children(self._sql, order_items.c.order_id, rows[0].id, order_items.c.line)])

    def save(self, order: Order, lines: bool) -> None:
        # Queued for the commit's round trip, as the stock and ledger writes are.
        self._sql.defer(_SAVE, {"order_id": int(order.id), "status": int(order.status), "version": order.version, "update_time": order.update_time})
        for item in order.items if lines else ():
            self._sql.defer(_SAVE_LINE, {
                "line_order": int(order.id), "line_product": int(item.product_id),
                "shipped_quantity": item.shipped_quantity, "canceled_quantity": item.canceled_quantity,
                "returned_quantity": item.returned_quantity,
            })

    def amend(self, order: Order, added: Sequence[str], removed: Sequence[str]) -> None:
        # Every line is renumbered to its position, so a line added after a removed one sorts last.
        key = int(order.id)
        for pid in removed:  # first: a kept line may take a removed one's position
            self._sql.defer(_REMOVE_LINE, {"line_order": key, "line_product": int(pid)})
        self._sql.defer(_AMEND, {"order_id": key, "total_cents": to_cents(order.total), "version": order.version, "update_time": order.update_time})
        new = set(added)
        for line, i in enumerate(order.items):
            if i.product_id not in new:
                self._sql.defer(_AMEND_LINE, {"line_order": key, "line_product": int(i.product_id), "quantity": i.quantity, "line": line})
        self._sql.defer_rows(_INSERT_ITEMS, [
            {"order_id": key, "product_id": int(i.product_id), "line": line, "sku": i.sku, "quantity": i.quantity, "unit_price_cents": to_cents(i.unit_price)}
            for line, i in enumerate(order.items)
            if i.product_id in new
        ])

    def list(self, flt: OrderFilter, page: Page) -> PageResult[Order]:
        stmt = select(orders)
        if flt.customer_id:
            key = parse_id(flt.customer_id)
            stmt = stmt.where(orders.c.customer_id == (key if key is not None else -1))
        if flt.statuses:
            stmt = stmt.where(orders.c.status.in_(sorted(int(s) for s in flt.statuses)))
        if flt.create_time_from is not None:
            stmt = stmt.where(orders.c.create_time >= flt.create_time_from)
        if flt.create_time_to is not None:
            stmt = stmt.where(orders.c.create_time < flt.create_time_to)
        if flt.external_reference:
            stmt = stmt.where(orders.c.external_reference == flt.external_reference)
        if flt.update_time_from is not None:
            stmt = stmt.where(orders.c.update_time >= flt.update_time_from)
        if flt.update_time_before is not None:
            stmt = stmt.where(orders.c.update_time < flt.update_time_before)
        if flt.sort is OrderSort.UPDATE_TIME_ASC:
            return self._by_update_time(stmt, page)
        rows, next_after = split_page(self._sql.execute(paged(stmt, orders.c.id, page, newest_first=True)).all(), page)
        return PageResult(self._with_items(rows), next_after)

    def _by_update_time(self, stmt: Select[Any], page: Page) -> PageResult[Order]:
        """Oldest change first, keyset on (update_time, id): an order changed after a client passed it
        has a later update_time, so it comes again further on."""
        after = parse_update_cursor(page.after) if page.after else None
        if after is not None:
            when, key = after
            stmt = stmt.where(or_(orders.c.update_time > when, and_(orders.c.update_time == when, orders.c.id > key)))
        rows = self._sql.execute(stmt.order_by(orders.c.update_time, orders.c.id).limit(page.size + 1)).all()
        found = self._with_items(rows[: page.size])
        return PageResult(found, update_cursor(found[-1]) if len(rows) > page.size else None)

    def reserving(self, product_id: str, limit: int) -> builtins.list[str]:
        i = order_items
        open_lines = i.c.quantity - i.c.shipped_quantity - i.c.canceled_quantity > 0
        stmt = select(i.c.order_id).where(i.c.product_id == int(product_id), open_lines).order_by(i.c.order_id).limit(limit)
        return [str(oid) for oid in self._sql.execute(stmt).scalars()]

    def _with_items(self, rows: Sequence[Row[Any]]) -> builtins.list[Order]:
        """Loads the items of all these orders in one query: no N+1."""
        if not rows:
            return []
        items: defaultdict[int, list[OrderItem]] = defaultdict(list)
        found = (
            self._sql.execute(_ITEMS_OF_ONE, {"id": rows[0].id})
            if len(rows) == 1
            else self._sql.execute(_ITEMS_OF, {"ids": [r.id for r in rows]})
        )
        for item in found:
            items[item.order_id].append(_item(item))
        return [_order(r, items[r.id]) for r in rows]
