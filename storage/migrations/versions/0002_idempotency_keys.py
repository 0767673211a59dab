"""Idempotency keys on the rows that creates write (the backstop when Redis loses a key), and line positions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line', sa.SmallInteger(), server_default='0', nullable=False))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idem_principal', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('idem_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('idem_fingerprint', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_orders_idem_principal_idem_key'), ['idem_principal', 'idem_key'])

    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idem_principal', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('idem_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('idem_fingerprint', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_stock_movements_idem_principal_idem_key'), ['idem_principal', 'idem_key'])



def downgrade() -> None:
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_stock_movements_idem_principal_idem_key'), type_='unique')
        batch_op.drop_column('idem_fingerprint')
        batch_op.drop_column('idem_key')
        batch_op.drop_column('idem_principal')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_idem_principal_idem_key'), type_='unique')
        batch_op.drop_column('idem_fingerprint')
        batch_op.drop_column('idem_key')
        batch_op.drop_column('idem_principal')

    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_column('line')

