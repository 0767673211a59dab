"""Product rows ↔ domain products, and the stock column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Row, bindparam, case, exc, insert, select, update

from service.domain.errors import NotFound
from service.domain.model import Page, PageResult, Product, Stock
from service.domain.ports import ProductFilter, ProductRepository
from storage.driver_errors import duplicate
from storage.keyset import new_id, paged, parse_id, split_page
from storage.locks import lock_rows
from storage.write_behind import StatementQueue, Write
from storage.schema import products as t


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


_GET = select(t).where(t.c.id == bindparam("id"))


@lru_cache(maxsize=512)  # a batch updates up to ORDERS_BATCH_MAX_LINES products
def _set_stock(n: int) -> Write:
    """UPDATE of n products' stock figures and event sequence in one statement (one CASE arm per product), compiled once per n."""
    ids = [bindparam(f"id{i}", type_=t.c.id.type) for i in range(n)]
    where = t.c.id == ids[0] if n == 1 else t.c.id.in_(ids)

    def per_product(name: str, column: Any) -> Any:
        values = [bindparam(f"{name}{i}", type_=BigInteger()) for i in range(n)]
        return values[0] if n == 1 else case(*[(t.c.id == ids[i], values[i]) for i in range(n)], else_=column)

    return Write(
        update(t).where(where).values(
            stock_quantity=per_product("q", t.c.stock_quantity), reserved_quantity=per_product("r", t.c.reserved_quantity),
            stock_sequence=per_product("s", t.c.stock_sequence),
            update_time=bindparam("now", type_=t.c.update_time.type),
        )
    )


def _from_row(row: Row[Any]) -> Product:
    return Product(
        str(row.id), row.sku, row.name, row.description, from_cents(row.price_cents), row.currency,
        row.stock_quantity, bool(row.active), row.create_time, row.update_time, row.delete_time, row.stock_sequence,
        row.reserved_quantity,
    )


def _catalogue_values(p: Product) -> dict[str, Any]:
    return {
        "name": p.name, "description": p.description, "price_cents": to_cents(p.price), "active": p.active,
        "update_time": p.update_time, "delete_time": p.delete_time,
    }


class SqlProductRepository(ProductRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql

    def add(self, product: Product) -> Product:
        values = _catalogue_values(product) | {
            "sku": product.sku, "currency": product.currency, "stock_quantity": product.stock_quantity,
            "reserved_quantity": product.reserved_quantity,
            "stock_sequence": product.stock_sequence, "create_time": product.create_time,
        }
        try:
            result = self._sql.execute(insert(t).values(**values))
        except exc.IntegrityError as e:
            raise duplicate(e, "product", ("sku",), {"sku": product.sku}) or e from None
        product.id = new_id(result)
        return product

    def get(self, product_id: str) -> Product:
        key = parse_id(product_id)
        row = None if key is None else self._sql.execute(_GET, {"id": key}).first()
        if row is None:
            raise NotFound("product", product_id)
        return _from_row(row)

    def lock(self, product_ids: Sequence[str]) -> dict[str, Product]:
        keys = [k for k in map(parse_id, product_ids) if k is not None]
        return {str(row.id): _from_row(row) for row in lock_rows(self._sql, t, keys)} if keys else {}

    def save(self, product: Product) -> None:
        self._sql.execute(update(t).where(t.c.id == int(product.id)).values(**_catalogue_values(product)))

    def set_stock(self, stock: Mapping[str, Stock], when: datetime, sequences: Mapping[str, int]) -> None:
        # One UPDATE ... CASE for every product of an order, queued for the commit's round trip.
        if not stock:
            return  # nothing to set, and a CASE needs at least one WHEN
        params: dict[str, Any] = {"now": when}
        for i, (pid, figures) in enumerate(stock.items()):
            params[f"id{i}"], params[f"q{i}"], params[f"r{i}"], params[f"s{i}"] = int(pid), figures.available, figures.reserved, sequences[pid]
        self._sql.defer(_set_stock(len(stock)), params)

    def list(self, flt: ProductFilter, page: Page) -> PageResult[Product]:
        stmt = select(t)
        if not flt.show_deleted:
            stmt = stmt.where(t.c.delete_time.is_(None))
        if flt.sku:
            stmt = stmt.where(t.c.sku == flt.sku)
        if flt.name_contains:
            pattern = "%" + flt.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(t.c.name.ilike(pattern, escape="\\"))
        if flt.active is not None:
            stmt = stmt.where(t.c.active.is_(flt.active))
        rows, next_after = split_page(self._sql.execute(paged(stmt, t.c.id, page)).all(), page)
        return PageResult([_from_row(r) for r in rows], next_after)
