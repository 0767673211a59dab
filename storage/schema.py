"""The tables, as SQLAlchemy 2 declarative models. Alembic migrations must match them (a test checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import DATETIME, MEDIUMBLOB, VARBINARY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime, TypeDecorator

# Integer primary keys must be BIGINT on MySQL but INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes as naive DATETIME(6); MySQL DATETIME has no time zone."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect):  # type: ignore[no-untyped-def]
        return dialect.type_descriptor(DATETIME(fsp=6) if dialect.name == "mysql" else DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class ExactString(TypeDecorator[str]):
    """A string compared byte for byte on every engine, as Redis compares keys.

    MySQL and MariaDB store it as VARBINARY: their `utf8mb4_bin` is a PAD SPACE collation
    (`'k' = 'k '`), and the NO PAD ones are spelled differently on each (MariaDB
    `utf8mb4_nopad_bin`, MySQL 8 `utf8mb4_0900_bin`), while a binary string compares its bytes
    on all of them. The width is in bytes: four per character, the most UTF-8 needs. SQLite
    compares bytes already.
    """

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: Dialect):  # type: ignore[no-untyped-def]
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(VARBINARY(4 * self.length))
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | bytes | None:
        return value.encode() if value is not None and dialect.name in ("mysql", "mariadb") else value

    def process_result_value(self, value: str | bytes | None, dialect: Dialect) -> str | None:
        return value.decode() if isinstance(value, bytes) else value


class IdempotencyColumns:
    """The client's idempotency key, written with the row it created, unique per principal.

    MySQL unique indexes admit any number of NULLs, so rows created without a key never collide.
    """

    idem_principal: Mapped[str | None] = mapped_column(ExactString(255), nullable=True)
    idem_key: Mapped[str | None] = mapped_column(ExactString(255), nullable=True)
    idem_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    # Unique across deleted rows too: a deleted customer keeps its document and email, so
    # Undelete can never collide (see README, "Soft delete").
    document: Mapped[str] = mapped_column(String(14), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    update_time: Mapped[datetime] = mapped_column(UtcDateTime)
    delete_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # google.type.PostalAddress as JSON (storage/addresses.py); NULL when the customer has none.
    postal_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index(None, "delete_time", "id"),)


class ProductRow(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000))
    # Whole cents: exact on every engine, and Decimal in the domain.
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stock_quantity: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    update_time: Mapped[datetime] = mapped_column(UtcDateTime)
    delete_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The sequence of the last stock event (its ledger rows, counted), set with the stock.
    stock_sequence: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Units promised to open order lines. stock_quantity is what is available: on hand is their sum.
    reserved_quantity: Mapped[int] = mapped_column(BigInteger, server_default="0")
    __table_args__ = (
        # The last line of defence: even a bug in the service cannot promise stock it does not have
        # (available ≥ 0 is on hand ≥ reserved).
        CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
        CheckConstraint("reserved_quantity >= 0", name="reserved_not_negative"),
        Index(None, "delete_time", "id"),
        Index(None, "active", "id"),
        Index(None, "name"),
    )


class OrderRow(IdempotencyColumns, Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(Id, ForeignKey("customers.id"))
    status: Mapped[int] = mapped_column(SmallInteger)
    currency: Mapped[str] = mapped_column(String(3))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(1000))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    update_time: Mapped[datetime] = mapped_column(UtcDateTime)
    # The client's reference, compared byte for byte; NULL when unset, so any number of orders
    # have none (unique indexes admit many NULLs on every engine).
    external_reference: Mapped[str | None] = mapped_column(ExactString(64), nullable=True)
    # The shipping address snapshot, as JSON (storage/addresses.py); NULL when there was none.
    shipping_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    # 1 when placed, one more with each change: numbers the order's events, and is its etag.
    version: Mapped[int] = mapped_column(BigInteger, server_default="1")
    __table_args__ = (
        Index(None, "customer_id", "id"),
        Index(None, "status", "id"),
        Index(None, "create_time", "id"),
        # ListOrders by update_time asc: the sync's keyset.
        Index(None, "update_time", "id"),
        UniqueConstraint("idem_principal", "idem_key"),
        UniqueConstraint("customer_id", "external_reference"),
        # ListOrders' external_reference filter without a customer, newest first.
        Index(None, "external_reference", "id"),
    )


class OrderItemRow(Base):
    __tablename__ = "order_items"
    # Lines are merged per product, so (order, product) identifies a line and clusters an order's items.
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(Id, ForeignKey("products.id"), primary_key=True)
    # Position in the request, so that every read returns the lines as they were ordered.
    line: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    shipped_quantity: Mapped[int] = mapped_column(Integer, server_default="0")
    canceled_quantity: Mapped[int] = mapped_column(Integer, server_default="0")
    # Of the shipped units, those a customer sent back (returns).
    returned_quantity: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (
        Index(None, "product_id"),
        CheckConstraint(
            "shipped_quantity >= 0 AND canceled_quantity >= 0 AND shipped_quantity + canceled_quantity <= quantity",
            name="progress_within_quantity",
        ),
        CheckConstraint("returned_quantity >= 0 AND returned_quantity <= shipped_quantity", name="returned_within_shipped"),
    )


class ShipmentRow(IdempotencyColumns, Base):
    __tablename__ = "shipments"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"))
    carrier: Mapped[str] = mapped_column(String(100))
    tracking_number: Mapped[str] = mapped_column(String(100))
    state: Mapped[int] = mapped_column(SmallInteger)  # service.domain.model.ShipmentState
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    deliver_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    __table_args__ = (Index(None, "order_id", "id"), UniqueConstraint("idem_principal", "idem_key"))


class ShipmentItemRow(Base):
    __tablename__ = "shipment_items"
    shipment_id: Mapped[int] = mapped_column(Id, ForeignKey("shipments.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(Id, ForeignKey("products.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index(None, "product_id"), CheckConstraint("quantity > 0", name="quantity_positive"))


class ReturnRow(IdempotencyColumns, Base):
    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"))
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(128))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (Index(None, "order_id", "id"), UniqueConstraint("idem_principal", "idem_key"))


class ReturnItemRow(Base):
    __tablename__ = "return_items"
    return_id: Mapped[int] = mapped_column(Id, ForeignKey("returns.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(Id, ForeignKey("products.id"), primary_key=True)
    # Position in the request, so that a return reads back as it was asked.
    line: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[int] = mapped_column(SmallInteger)  # service.domain.model.ReturnDisposition
    __table_args__ = (
        Index(None, "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("disposition IN (1, 2)", name="disposition_known"),
    )


class OrderAmendmentRow(IdempotencyColumns, Base):
    # One per AmendOrder that took effect (and per keyed one that changed nothing): its key's home.
    __tablename__ = "order_amendments"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"))
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(128))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (Index(None, "order_id", "id"), UniqueConstraint("idem_principal", "idem_key"))


class StockMovementRow(IdempotencyColumns, Base):
    __tablename__ = "stock_movements"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(Id, ForeignKey("products.id"))
    kind: Mapped[int] = mapped_column(SmallInteger)
    delta: Mapped[int] = mapped_column(BigInteger)
    stock_after: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(Id, ForeignKey("orders.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(128))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index(None, "product_id", "id"),
        Index(None, "order_id"),
        UniqueConstraint("idem_principal", "idem_key"),
    )


class StatusChangeRow(Base):
    __tablename__ = "order_status_history"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"))
    from_status: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    to_status: Mapped[int] = mapped_column(SmallInteger)
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[str] = mapped_column(String(128))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (Index(None, "order_id", "id"),)


class OutboxEventRow(Base):
    """The transactional outbox (Debezium's layout: id, aggregate type and id, type, payload).

    `id` is the outbox position that WatchOrderEvents resumes from; the relay never keeps a cursor
    on it (ids can commit out of order) but reads unpublished rows through `publish_time`.
    """

    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    aggregate_type: Mapped[str] = mapped_column(String(16))
    aggregate_id: Mapped[int] = mapped_column(BigInteger)
    sequence: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    # For WatchOrderEvents' customer filter; NULL on product events.
    customer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The event's protobuf encoding (erp.orders.v1.OrderEvent or ProductStockEvent).
    payload: Mapped[bytes] = mapped_column(LargeBinary().with_variant(MEDIUMBLOB(), "mysql", "mariadb"))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime)
    publish_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    __table_args__ = (
        # Two events of one aggregate can never share a number.
        UniqueConstraint("aggregate_type", "aggregate_id", "sequence"),
        # Unpublished rows (NULL) first, for the relay; published ones by age, for pruning.
        Index(None, "publish_time", "id"),
    )


class OutboxLeaseRow(Base):
    """One row per relay partition (hash of the aggregate mod the partition count): who publishes it, until when."""

    __tablename__ = "outbox_leases"
    partition: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(64))
    expire_time: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxRelayRow(Base):
    """One row per running relay, renewed with its leases: the live relays, among which partitions are shared."""

    __tablename__ = "outbox_relays"
    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    expire_time: Mapped[datetime] = mapped_column(UtcDateTime)


# The Core tables, for the repositories' statements (declarative types them as FromClause).
customers = cast(Table, CustomerRow.__table__)
products = cast(Table, ProductRow.__table__)
orders = cast(Table, OrderRow.__table__)
order_items = cast(Table, OrderItemRow.__table__)
stock_movements = cast(Table, StockMovementRow.__table__)
shipments = cast(Table, ShipmentRow.__table__)
shipment_items = cast(Table, ShipmentItemRow.__table__)
returns = cast(Table, ReturnRow.__table__)
return_items = cast(Table, ReturnItemRow.__table__)
order_amendments = cast(Table, OrderAmendmentRow.__table__)
status_history = cast(Table, StatusChangeRow.__table__)
outbox_events = cast(Table, OutboxEventRow.__table__)
outbox_leases = cast(Table, OutboxLeaseRow.__table__)
outbox_relays = cast(Table, OutboxRelayRow.__table__)
