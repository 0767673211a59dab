"""Opaque API ids ↔ integer keys, and keyset pagination over them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, CursorResult, Row, Select

from service.domain.model import Page

T = TypeVar("T")
_MAX_ID = 2**63 - 1


def parse_id(value: str) -> int | None:
    """The key for an API id, or None if no row can have it (so the caller answers NOT_FOUND)."""
    if not value.isascii() or not value.isdigit() or value != str(int(value)) or int(value) > _MAX_ID:
        return None
    return int(value)


def paged(stmt: Select[Any], key: ColumnElement[int], page: Page, newest_first: bool = False) -> Select[Any]:
    """Adds the keyset condition and fetches one extra row to learn whether a next page exists."""
    after = parse_id(page.after) if page.after else None
    if after is not None:
        stmt = stmt.where(key < after if newest_first else key > after)
    return stmt.order_by(key.desc() if newest_first else key).limit(page.size + 1)


def split_page(rows: Sequence[Row[Any]], page: Page) -> tuple[Sequence[Row[Any]], str | None]:
    if len(rows) <= page.size:
        return rows, None
    rows = rows[: page.size]
    return rows, str(rows[-1].id)


def new_id(result: CursorResult[Any]) -> str:
    """The id the database gave the row an INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None
    return str(key[0])
