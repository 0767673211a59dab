"""The transactional outbox and the relay's partition leases; products count their stock events.

`products.stock_sequence` starts at each product's ledger length, so the sequence of its stock
events continues its ledger. Orders need no counter: their event sequence follows from the status
(service/domain/events.py).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import storage.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stock_sequence", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(
        "UPDATE products SET stock_sequence = "
        "(SELECT COUNT(*) FROM stock_movements WHERE stock_movements.product_id = products.id)"
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("aggregate_type", sa.String(length=16), nullable=False),
        sa.Column("aggregate_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"), nullable=False),
        sa.Column("create_time", storage.schema.UtcDateTime(), nullable=False),
        sa.Column("publish_time", storage.schema.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint(
            "aggregate_type", "aggregate_id", "sequence", name=op.f("uq_outbox_events_aggregate_type_aggregate_id_sequence")
        ),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_publish_time_id"), ["publish_time", "id"], unique=False)
    op.create_table(
        "outbox_leases",
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expire_time", storage.schema.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partition", name=op.f("pk_outbox_leases")),
    )


def downgrade() -> None:
    op.drop_table("outbox_leases")
    op.drop_table("outbox_events")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("stock_sequence")
