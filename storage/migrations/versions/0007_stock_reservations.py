"""Stock on hand and reserved, shipments, and a version per order.

`products.stock_quantity` keeps its value and its meaning (available to promise); what open orders
reserve moves to `reserved_quantity`, so on hand (their sum) is today's stock plus the reservations:
- reserved = Σ quantities of the lines of PENDING, CONFIRMED and PICKED orders;
- lines of SHIPPED and DELIVERED orders count as shipped: each such order gets one shipment of all
  its lines (DELIVERED ones delivered), and each line a SHIPMENT ledger row, so that on hand is still
  the sum of the ledger's on-hand rows. These rows restate the past: they have no outbox events, and
  the products' stock_sequence moves past them (consumers see the next event's number jump);
- lines of CANCELED orders count as canceled;
- an order's version is the number of its changes so far: its status history rows.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MYSQL = ("mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_quantity", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.BigInteger(), server_default="1", nullable=False))
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipped_quantity", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("canceled_quantity", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "shipments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("create_time", storage.schema.UtcDateTime(), nullable=False),
        sa.Column("deliver_time", storage.schema.UtcDateTime(), nullable=True),
        sa.Column("idem_principal", storage.schema.ExactString(length=255), nullable=True),
        sa.Column("idem_key", storage.schema.ExactString(length=255), nullable=True),
        sa.Column("idem_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_shipments_order_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("idem_principal", "idem_key", name=op.f("uq_shipments_idem_principal_idem_key")),
    )
    op.create_index(op.f("ix_shipments_order_id_id"), "shipments", ["order_id", "id"], unique=False)
    op.create_table(
        "shipment_items",
        sa.Column("shipment_id", _ID, nullable=False),
        sa.Column("product_id", _ID, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shipment_items_quantity_positive")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_shipment_items_product_id")),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"], name=op.f("fk_shipment_items_shipment_id")),
        sa.PrimaryKeyConstraint("shipment_id", "product_id", name=op.f("pk_shipment_items")),
    )
    op.create_index(op.f("ix_shipment_items_product_id"), "shipment_items", ["product_id"], unique=False)
    _restate()
    if op.get_bind().dialect.name in _MYSQL:  # SQLite cannot add a CHECK to an existing table
        op.create_check_constraint(op.f("ck_products_reserved_not_negative"), "products", "reserved_quantity >= 0")
        op.create_check_constraint(
            op.f("ck_order_items_progress_within_quantity"), "order_items",
            "shipped_quantity >= 0 AND canceled_quantity >= 0 AND shipped_quantity + canceled_quantity <= quantity",
        )


def _restate() -> None:
    """Today's data in the new model (see the module docstring). Statuses: 1-3 open, 4 SHIPPED,
    5 DELIVERED, 6 CANCELED; shipment states: 1 SHIPPED, 2 DELIVERED; ledger kind 5 SHIPMENT."""
    op.execute(
        "UPDATE order_items SET "
        "shipped_quantity = CASE WHEN (SELECT status FROM orders WHERE orders.id = order_items.order_id) IN (4, 5) THEN quantity ELSE 0 END, "
        "canceled_quantity = CASE WHEN (SELECT status FROM orders WHERE orders.id = order_items.order_id) = 6 THEN quantity ELSE 0 END"
    )
    op.execute(
        "UPDATE products SET reserved_quantity = (SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i "
        "JOIN orders o ON o.id = i.order_id WHERE i.product_id = products.id AND o.status IN (1, 2, 3))"
    )
    op.execute("UPDATE orders SET version = (SELECT COUNT(*) FROM order_status_history h WHERE h.order_id = orders.id) WHERE EXISTS "
               "(SELECT 1 FROM order_status_history h WHERE h.order_id = orders.id)")
    op.execute(
        "INSERT INTO shipments (order_id, carrier, tracking_number, state, create_time, deliver_time) "
        "SELECT o.id, '', '', CASE WHEN o.status = 5 THEN 2 ELSE 1 END, "
        "COALESCE((SELECT MIN(h.create_time) FROM order_status_history h WHERE h.order_id = o.id AND h.to_status = 4), o.update_time), "
        "CASE WHEN o.status = 5 THEN o.update_time END "
        "FROM orders o WHERE o.status IN (4, 5) ORDER BY o.id"
    )
    op.execute(
        "INSERT INTO shipment_items (shipment_id, product_id, quantity) "
        "SELECT s.id, i.product_id, i.quantity FROM shipments s JOIN order_items i ON i.order_id = s.order_id"
    )
    op.execute(
        "INSERT INTO stock_movements (product_id, kind, delta, stock_after, order_id, reason, actor, request_id, create_time) "
        "SELECT i.product_id, 5, -i.quantity, p.stock_quantity, s.order_id, 'shipped before revision 0007', 'migration', '', s.create_time "
        "FROM shipments s JOIN shipment_items i ON i.shipment_id = s.id JOIN products p ON p.id = i.product_id "
        "ORDER BY s.id, i.product_id"
    )
    op.execute(
        "UPDATE products SET stock_sequence = stock_sequence + "
        "(SELECT COUNT(*) FROM stock_movements m WHERE m.product_id = products.id AND m.kind = 5)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name in _MYSQL:
        op.drop_constraint(op.f("ck_order_items_progress_within_quantity"), "order_items", type_="check")
        op.drop_constraint(op.f("ck_products_reserved_not_negative"), "products", type_="check")
    # Back to one figure: available stays in stock_quantity. Shipment rows never changed it and leave
    # the ledger; a count changed it by its delta, as an adjustment does.
    op.execute(
        "UPDATE products SET stock_sequence = stock_sequence - "
        "(SELECT COUNT(*) FROM stock_movements m WHERE m.product_id = products.id AND m.kind = 5)"
    )
    op.execute("DELETE FROM stock_movements WHERE kind = 5")
    op.execute("UPDATE stock_movements SET kind = 4 WHERE kind = 6")
    op.drop_table("shipment_items")  # with their indexes: MySQL will not drop one a foreign key needs
    op.drop_table("shipments")
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_column("canceled_quantity")
        batch_op.drop_column("shipped_quantity")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("reserved_quantity")
