"""Initial schema: customers, products, orders, items, stock ledger and status history.

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('document', sa.String(length=14), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('create_time', storage.schema.UtcDateTime(), nullable=False),
    sa.Column('update_time', storage.schema.UtcDateTime(), nullable=False),
    sa.Column('delete_time', storage.schema.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('document', name=op.f('uq_customers_document')),
    sa.UniqueConstraint('email', name=op.f('uq_customers_email'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_delete_time_id'), ['delete_time', 'id'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stock_quantity', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('create_time', storage.schema.UtcDateTime(), nullable=False),
    sa.Column('update_time', storage.schema.UtcDateTime(), nullable=False),
    sa.Column('delete_time', storage.schema.UtcDateTime(), nullable=True),
    sa.CheckConstraint('stock_quantity >= 0', name=op.f('ck_products_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('sku', name=op.f('uq_products_sku'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_active_id'), ['active', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_delete_time_id'), ['delete_time', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_name'), ['name'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('create_time', storage.schema.UtcDateTime(), nullable=False),
    sa.Column('update_time', storage.schema.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_create_time_id'), ['create_time', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_customer_id_id'), ['customer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_status_id'), ['status', 'id'], unique=False)

    op.create_table('order_items',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_order_items_product_id')),
    sa.PrimaryKeyConstraint('order_id', 'product_id', name=op.f('pk_order_items'))
    )
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_items_product_id'), ['product_id'], unique=False)

    op.create_table('order_status_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_status', sa.SmallInteger(), nullable=True),
    sa.Column('to_status', sa.SmallInteger(), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('create_time', storage.schema.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_status_history_order_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_status_history'))
    )
    with op.batch_alter_table('order_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_status_history_order_id_id'), ['order_id', 'id'], unique=False)

    op.create_table('stock_movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('stock_after', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('create_time', storage.schema.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_stock_movements_order_id')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_movements_product_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_movements_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_product_id_id'), ['product_id', 'id'], unique=False)



def downgrade() -> None:
    # Whole tables only: dropping an index that a foreign key needs first fails on MariaDB (1553).
    for table in ("stock_movements", "order_status_history", "order_items", "orders", "products", "customers"):
        op.drop_table(table)
