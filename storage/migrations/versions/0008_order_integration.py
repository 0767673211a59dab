"""What an ERP integration needs from an order (issue 26): the client's external reference, an
index for syncing by last change (ListOrders by update_time asc), the order's shipping address
snapshot and the customer's structured postal address (both JSON text, NULL on existing rows).

The reference is NULL on every existing order and on new orders placed without one, so the unique
index on (customer_id, external_reference) admits all of them on MySQL 8, MariaDB and SQLite alike.
It follows 0007 (stock and shipments) and touches only columns and indexes of its own.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_reference", storage.schema.ExactString(64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_orders_customer_id_external_reference"), ["customer_id", "external_reference"]
        )
        batch_op.create_index(batch_op.f("ix_orders_external_reference_id"), ["external_reference", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_update_time_id"), ["update_time", "id"], unique=False)
        batch_op.add_column(sa.Column("shipping_address", sa.Text(), nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postal_address", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("postal_address")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("shipping_address")
        batch_op.drop_index(batch_op.f("ix_orders_update_time_id"))
        batch_op.drop_index(batch_op.f("ix_orders_external_reference_id"))
        batch_op.drop_constraint(batch_op.f("uq_orders_customer_id_external_reference"), type_="unique")
        batch_op.drop_column("external_reference")
