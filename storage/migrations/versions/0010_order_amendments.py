"""Order amendments: a table of AmendOrder's own, where its idempotency key is stored (issue 25).

Until now an amendment's key rode on its first stock_movements row: an amendment that changed
nothing wrote no row, so its key was not kept, and its keys shared the ledger's unique index with
AdjustStock's and CountStock's. `order_amendments` has one row per amendment that took effect (and
per keyed one that changed nothing), with the key under the same unique index as the other keyed
tables. Keys already on ledger rows stay there: this revision writes no data, and a retry of an
amendment made before it is a new call, as after any key's lifetime. Downgrading drops the table.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "order_amendments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("create_time", storage.schema.UtcDateTime(), nullable=False),
        sa.Column("idem_principal", storage.schema.ExactString(length=255), nullable=True),
        sa.Column("idem_key", storage.schema.ExactString(length=255), nullable=True),
        sa.Column("idem_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_amendments_order_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_amendments")),
        sa.UniqueConstraint("idem_principal", "idem_key", name=op.f("uq_order_amendments_idem_principal_idem_key")),
    )
    op.create_index(op.f("ix_order_amendments_order_id_id"), "order_amendments", ["order_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("order_amendments")  # with its indexes: MySQL will not drop one its foreign key needs
