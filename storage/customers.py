"""Customer rows ↔ domain customers."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, bindparam, exc, insert, select, update

from service.domain.errors import NotFound
from service.domain.model import Customer, Page, PageResult
from service.domain.ports import CustomerFilter, CustomerRepository
from storage import addresses
from storage.driver_errors import duplicate
from storage.keyset import new_id, paged, parse_id, split_page
from storage.locks import lock_rows
from storage.write_behind import StatementQueue
from storage.schema import customers as t

_UNIQUE = ("document", "email")
_GET = select(t).where(t.c.id == bindparam("id"))  # every order reads its customer


@lru_cache(maxsize=128)
def _get_many(n: int) -> Select[Any]:
    """The customers of a batch of orders in one read, built once per id count."""
    return select(t).where(t.c.id.in_([bindparam(f"id{i}", type_=t.c.id.type) for i in range(n)]))


def _from_row(row: Row[Any]) -> Customer:
    return Customer(
        str(row.id), row.name, row.document, row.email, row.phone, row.address, bool(row.active),
        row.create_time, row.update_time, row.delete_time, addresses.from_json(row.postal_address),
    )


def _values(c: Customer) -> dict[str, Any]:
    return {
        "name": c.name, "document": c.document, "email": c.email, "phone": c.phone, "address": c.address,
        "active": c.active, "create_time": c.create_time, "update_time": c.update_time, "delete_time": c.delete_time,
        "postal_address": addresses.to_json(c.postal_address),
    }


class SqlCustomerRepository(CustomerRepository):
    def __init__(self, sql: StatementQueue) -> None:
        self._sql = sql

    def add(self, customer: Customer) -> Customer:
        try:
            result = self._sql.execute(insert(t).values(**_values(customer)))
        except exc.IntegrityError as e:
            raise duplicate(e, "customer", _UNIQUE, _values(customer)) or e from None
        customer.id = new_id(result)
        return customer

    def get(self, customer_id: str) -> Customer:
        key = parse_id(customer_id)
        row = None if key is None else self._sql.execute(_GET, {"id": key}).first()
        if row is None:
            raise NotFound("customer", customer_id)
        return _from_row(row)

    def get_many(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        keys = sorted({k for k in map(parse_id, customer_ids) if k is not None})
        rows = self._sql.execute(_get_many(len(keys)), {f"id{i}": k for i, k in enumerate(keys)}).all() if keys else []
        return {str(row.id): _from_row(row) for row in rows}

    def lock(self, customer_id: str) -> Customer:
        key = parse_id(customer_id)
        rows = [] if key is None else lock_rows(self._sql, t, [key])
        if not rows:
            raise NotFound("customer", customer_id)
        return _from_row(rows[0])

    def save(self, customer: Customer) -> None:
        values = _values(customer)
        try:
            self._sql.execute(update(t).where(t.c.id == int(customer.id)).values(**values))
        except exc.IntegrityError as e:
            raise duplicate(e, "customer", _UNIQUE, values) or e from None

    def list(self, flt: CustomerFilter, page: Page) -> PageResult[Customer]:
        stmt = select(t)
        if not flt.show_deleted:
            stmt = stmt.where(t.c.delete_time.is_(None))
        if flt.document:
            stmt = stmt.where(t.c.document == flt.document)
        if flt.email:
            stmt = stmt.where(t.c.email == flt.email.lower())
        rows, next_after = split_page(self._sql.execute(paged(stmt, t.c.id, page)).all(), page)
        return PageResult([_from_row(r) for r in rows], next_after)
