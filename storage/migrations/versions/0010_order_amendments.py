"""Order amendments: a table of AmendOrder's own, where its idempotency key is stored (issue 25).

Until now an amendment's key rode on its first stock_movements row: an amendment that changed
nothing wrote no row, so its key was not kept, and its keys shared the ledger's unique index with
AdjustStock's and CountStock's. `order_amendments` has one row per amendment that took effect (and
per keyed one that changed nothing), with the key under the same unique index as the other keyed
tables. The keys already in the ledger move over: a keyed ORDER or CANCEL row (kinds 2 and 3; only
amendments key those) becomes an amendment of its order, with the row's reason, actor, request and
time, and the ledger row loses the key. Downgrading puts each key back on its amendment's first
ledger row (same order, request and time) and drops the table; a keyed amendment that changed
nothing has no such row, nor one whose key an adjustment or count took since, and those keys go with
the table.

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
_KEY = "idem_principal, idem_key, idem_fingerprint"
_CLEARED = "idem_principal = NULL, idem_key = NULL, idem_fingerprint = NULL"
_AMENDMENT_KEYED = "idem_key IS NOT NULL AND kind IN (2, 3)"  # ORDER and CANCEL: only amendments keyed them


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
    op.execute(
        f"INSERT INTO order_amendments (order_id, reason, actor, request_id, create_time, {_KEY}) "
        f"SELECT order_id, reason, actor, request_id, create_time, {_KEY} FROM stock_movements "
        f"WHERE {_AMENDMENT_KEYED} AND order_id IS NOT NULL ORDER BY id"
    )
    op.execute(f"UPDATE stock_movements SET {_CLEARED} WHERE {_AMENDMENT_KEYED}")


def downgrade() -> None:
    conn = op.get_bind()
    keyed = conn.execute(sa.text(f"SELECT order_id, request_id, create_time, {_KEY} FROM order_amendments WHERE idem_key IS NOT NULL"))
    for order_id, request_id, create_time, principal, key, fingerprint in keyed.all():
        # Two statements: MySQL will not UPDATE a table that a subquery of the same statement reads.
        first = conn.execute(sa.text(
            "SELECT MIN(id) FROM stock_movements WHERE order_id = :o AND request_id = :r AND create_time = :t AND kind IN (2, 3)"
        ), {"o": order_id, "r": request_id, "t": create_time}).scalar()
        taken = conn.execute(
            sa.text("SELECT id FROM stock_movements WHERE idem_principal = :p AND idem_key = :k"), {"p": principal, "k": key}
        ).first()
        if first is not None and taken is None:  # a key AdjustStock or CountStock used too cannot share the ledger's index
            conn.execute(sa.text(
                "UPDATE stock_movements SET idem_principal = :p, idem_key = :k, idem_fingerprint = :f WHERE id = :id"
            ), {"p": principal, "k": key, "f": fingerprint, "id": first})
    op.drop_table("order_amendments")  # with its indexes: MySQL will not drop one its foreign key needs
