"""Idempotency keys and principals compare byte for byte (utf8mb4_bin) on MySQL and MariaDB.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = [(table, column) for table in ("orders", "stock_movements") for column in ("idem_principal", "idem_key")]


def _alter(collation: str | None) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return  # SQLite already compares bytes
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.String(255, collation=collation), existing_nullable=True)


def upgrade() -> None:
    _alter("utf8mb4_bin")


def downgrade() -> None:
    _alter(None)
