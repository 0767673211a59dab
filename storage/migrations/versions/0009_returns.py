"""Returns: shipped units an order takes back, restocked or scrapped (issue 25).

`order_items.returned_quantity` counts a line's returned units (0 on every existing line, so the
CHECK returned ≤ shipped holds at once); `returns` and `return_items` hold the returns, with the
idempotency key on the return as shipments keep theirs. Restocked units are ledger rows of the new
kind 7 (RETURN), which move on hand only. Downgrading drops the returns and turns those rows into
ADJUSTMENT rows (kind 4), as 0007's downgrade does with counts: on hand stays the ledger's sum.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MYSQL = ("mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_quantity", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "returns",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("create_time", storage.schema.UtcDateTime(), nullable=False),
        sa.Column("idem_principal", storage.schema.ExactString(length=255), nullable=True),
        sa.Column("idem_key", storage.schema.ExactString(length=255), nullable=True),
        sa.Column("idem_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_returns_order_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
        sa.UniqueConstraint("idem_principal", "idem_key", name=op.f("uq_returns_idem_principal_idem_key")),
    )
    op.create_index(op.f("ix_returns_order_id_id"), "returns", ["order_id", "id"], unique=False)
    op.create_table(
        "return_items",
        sa.Column("return_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("line", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_items_quantity_positive")),
        sa.CheckConstraint("disposition IN (1, 2)", name=op.f("ck_return_items_disposition_known")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_return_items_product_id")),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"], name=op.f("fk_return_items_return_id")),
        sa.PrimaryKeyConstraint("return_id", "product_id", name=op.f("pk_return_items")),
    )
    op.create_index(op.f("ix_return_items_product_id"), "return_items", ["product_id"], unique=False)
    if op.get_bind().dialect.name in _MYSQL:  # SQLite cannot add a CHECK to an existing table
        op.create_check_constraint(
            op.f("ck_order_items_returned_within_shipped"), "order_items",
            "returned_quantity >= 0 AND returned_quantity <= shipped_quantity",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name in _MYSQL:
        op.drop_constraint(op.f("ck_order_items_returned_within_shipped"), "order_items", type_="check")
    # Restocked units stay on hand: their ledger rows become adjustments, which 0008 knows.
    op.execute("UPDATE stock_movements SET kind = 4 WHERE kind = 7")
    op.drop_table("return_items")  # with their indexes: MySQL will not drop one a foreign key needs
    op.drop_table("returns")
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_column("returned_quantity")
