"""Idempotency keys and principals become VARBINARY on MySQL and MariaDB, so that trailing spaces count.

`utf8mb4_bin` (0003) is a PAD SPACE collation: `'pad-1' = 'pad-1 '` was true, so a key with a
trailing space was refused as a reuse, and principal `carol ` was replayed `carol`'s order. Binary
strings compare their bytes, under one name on MariaDB and MySQL 8 alike (see storage/schema.py).
The conversion keeps each value's UTF-8 bytes. A downgrade fails on a duplicate key if two rows now
differ only by trailing spaces, which is the point of this revision.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = [(table, column) for table in ("orders", "stock_movements") for column in ("idem_principal", "idem_key")]


def _alter(type_: sa.types.TypeEngine[Any], existing: sa.types.TypeEngine[Any]) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return  # SQLite already compares bytes
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=type_, existing_type=existing, existing_nullable=True)


def upgrade() -> None:
    _alter(mysql.VARBINARY(1020), sa.String(255, collation="utf8mb4_bin"))


def downgrade() -> None:
    _alter(sa.String(255, collation="utf8mb4_bin"), mysql.VARBINARY(1020))
