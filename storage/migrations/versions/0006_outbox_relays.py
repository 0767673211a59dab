"""The live relays: a relay that holds no lease yet must still count when the others compute their share.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_relays",
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("expire_time", storage.schema.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_outbox_relays")),
    )


def downgrade() -> None:
    op.drop_table("outbox_relays")
