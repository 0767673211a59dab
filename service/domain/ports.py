"""The storage the handlers need, as abstract ports. storage/ implements them; tests may fake them.

Lock order, everywhere: an order row (and its items) before product rows, and product rows in ascending id order.
Only the `lock*` methods take row locks, and only they may precede a stock change.
"""

from __future__ import annotations

import enum
import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from service.domain.events import Event
from service.domain.model import (
    Customer,
    IdempotencyKey,
    Order,
    OrderAmendment,
    OrderStatus,
    Page,
    PageResult,
    Product,
    Return,
    Shipment,
    StatusChange,
    Stock,
    StockMovement,
)


@dataclass(frozen=True)
class CustomerFilter:
    show_deleted: bool = False
    document: str = ""
    email: str = ""


@dataclass(frozen=True)
class ProductFilter:
    show_deleted: bool = False
    sku: str = ""
    name_contains: str = ""
    active: bool | None = None


class OrderSort(enum.Enum):
    CREATE_TIME_DESC = "create_time desc"  # newest first, keyset on id
    UPDATE_TIME_ASC = "update_time asc"  # oldest change first, keyset on (update_time, id): model.update_cursor


@dataclass(frozen=True)
class OrderFilter:
    customer_id: str = ""
    statuses: frozenset[OrderStatus] = frozenset()  # any of these; empty: any status
    create_time_from: datetime | None = None
    create_time_to: datetime | None = None
    external_reference: str = ""
    update_time_from: datetime | None = None
    # Only orders that last changed before this (the sync's settle cutoff); None: no bound.
    update_time_before: datetime | None = None
    sort: OrderSort = OrderSort.CREATE_TIME_DESC


class CustomerRepository(ABC):
    @abstractmethod
    def add(self, customer: Customer) -> Customer:
        """Inserts and returns the customer with its id. Raises AlreadyExists on a taken document or email."""

    @abstractmethod
    def get(self, customer_id: str) -> Customer:
        """Raises NotFound."""

    @abstractmethod
    def get_many(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        """The existing customers among the ids, in one read; missing ids are absent."""

    @abstractmethod
    def lock(self, customer_id: str) -> Customer:
        """Reads the row under an exclusive lock until commit. Raises NotFound."""

    @abstractmethod
    def save(self, customer: Customer) -> None:
        """Writes every mutable field back. Raises AlreadyExists on a taken email."""

    @abstractmethod
    def list(self, flt: CustomerFilter, page: Page) -> PageResult[Customer]: ...


class ProductRepository(ABC):
    @abstractmethod
    def add(self, product: Product) -> Product:
        """Inserts and returns the product with its id. Raises AlreadyExists on a taken sku."""

    @abstractmethod
    def get(self, product_id: str) -> Product:
        """Raises NotFound."""

    @abstractmethod
    def lock(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """Locks the existing products among the ids, in ascending id order; missing ids are absent."""

    @abstractmethod
    def save(self, product: Product) -> None:
        """Writes the catalogue fields back (not the stock)."""

    @abstractmethod
    def set_stock(self, stock: Mapping[str, Stock], when: datetime, sequences: Mapping[str, int]) -> None:
        """Sets the stock figures of locked products, and the sequence of each one's last stock event, in one statement."""

    @abstractmethod
    def list(self, flt: ProductFilter, page: Page) -> PageResult[Product]: ...


class OrderRepository(ABC):
    @abstractmethod
    def add_many(self, orders: Sequence[tuple[Order, IdempotencyKey | None]]) -> None:
        """Inserts the orders and all their items in one statement each; sets each order's id.

        If another transaction committed an order with one of the keys first, the unit of work raises
        KeyTaken (at the latest on commit): create_order then finds that order by its key and replays it.
        """

    @abstractmethod
    def find_by_key(self, key: IdempotencyKey) -> tuple[Order, str] | None:
        """The order created with this principal's key, and the request fingerprint stored with it."""

    @abstractmethod
    def get(self, order_id: str) -> Order:
        """Raises NotFound."""

    @abstractmethod
    def find_references(self, references: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored orders among these (customer id, external reference) pairs: pair → order id. No lock:
        the unique index on the pair is the backstop for a concurrent order with the same reference."""

    @abstractmethod
    def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        """The existing orders among the ids, with their items, in two reads; missing ids are absent."""

    @abstractmethod
    def lock(self, order_id: str) -> Order:
        """Reads the order under an exclusive lock on its row, its items as last committed. Raises NotFound."""

    @abstractmethod
    def save(self, order: Order, lines: bool) -> None:
        """Writes the locked order's status, version and update time back; with `lines`, also each
        item's shipped, canceled and returned quantities."""

    @abstractmethod
    def amend(self, order: Order, added: Sequence[str], removed: Sequence[str]) -> None:
        """Writes the locked order's amended lines back: each line's quantity and position (the lines
        of `added` products inserted), the lines of `removed` products deleted, and the order's total,
        version and update time."""

    @abstractmethod
    def list(self, flt: OrderFilter, page: Page) -> PageResult[Order]:
        """In flt.sort's order; page.after and next_after are ids, or update cursors for UPDATE_TIME_ASC."""

    @abstractmethod
    def reserving(self, product_id: str, limit: int) -> builtins.list[str]:
        """The ids of up to `limit` orders, oldest first, whose lines still hold units of the product."""


class LedgerRepository(ABC):
    @abstractmethod
    def add(self, movements: Sequence[StockMovement]) -> None:
        """Appends movements in one statement."""

    @abstractmethod
    def add_one(self, movement: StockMovement, key: IdempotencyKey | None) -> StockMovement:
        """Appends one movement; returns it with its id. A duplicate key raises KeyTaken (a Rerun), as for orders."""

    @abstractmethod
    def find_by_key(self, key: IdempotencyKey) -> tuple[StockMovement, str] | None:
        """The movement created with this principal's key, and its request fingerprint."""

    @abstractmethod
    def list(self, product_id: str, page: Page) -> PageResult[StockMovement]:
        """Oldest first."""


class ShipmentRepository(ABC):
    """An order's shipments. They change only under their order's row lock, so they take none of their own."""

    @abstractmethod
    def add(self, shipment: Shipment, key: IdempotencyKey | None) -> Shipment:
        """Inserts the shipment and its items; returns it with its id. A taken key raises KeyTaken."""

    @abstractmethod
    def find_by_key(self, key: IdempotencyKey) -> tuple[Shipment, str] | None:
        """The shipment created with this principal's key, and its request fingerprint."""

    @abstractmethod
    def get(self, order_id: str, shipment_id: str) -> Shipment:
        """Raises NotFound, also for a shipment of another order."""

    @abstractmethod
    def of_order(self, order_id: str) -> list[Shipment]:
        """Every shipment of the order, oldest first."""

    @abstractmethod
    def list(self, order_id: str, page: Page) -> PageResult[Shipment]:
        """Oldest first."""

    @abstractmethod
    def deliver(self, shipment_ids: Sequence[str], when: datetime) -> None:
        """Marks the shipments DELIVERED at `when`."""


class ReturnRepository(ABC):
    """An order's returns. They are written only under their order's row lock, so they take none of their own."""

    @abstractmethod
    def add(self, order_return: Return, key: IdempotencyKey | None) -> Return:
        """Inserts the return and its items; returns it with its id. A taken key raises KeyTaken."""

    @abstractmethod
    def find_by_key(self, key: IdempotencyKey) -> tuple[Return, str] | None:
        """The return created with this principal's key, and its request fingerprint."""

    @abstractmethod
    def list(self, order_id: str, page: Page) -> PageResult[Return]:
        """Oldest first."""


class AmendmentRepository(ABC):
    """An order's amendments, each with its idempotency key (AmendOrder's own keys: no other method's
    collide with them). Written only under their order's row lock, so they take none of their own."""

    @abstractmethod
    def add(self, amendment: OrderAmendment, key: IdempotencyKey | None) -> None:
        """Writes the amendment with the commit (nothing reads its id). A taken key raises KeyTaken,
        at the latest from the commit."""

    @abstractmethod
    def find_by_key(self, key: IdempotencyKey) -> tuple[OrderAmendment, str] | None:
        """The amendment stored with this principal's key, and its request fingerprint."""


class HistoryRepository(ABC):
    @abstractmethod
    def add(self, change: StatusChange) -> None: ...

    @abstractmethod
    def add_many(self, changes: Sequence[StatusChange]) -> None:
        """Appends changes in one statement."""

    @abstractmethod
    def list(self, order_id: str, page: Page) -> PageResult[StatusChange]:
        """Oldest first."""


class EventOutbox(ABC):
    @abstractmethod
    def add(self, events: Sequence[Event]) -> None:
        """Records events in this transaction, in one statement: they exist if and only if it commits."""


class UnitOfWork(ABC):
    """One transaction. Leaving the `with` block without commit() rolls everything back.

    Implementations translate driver errors: deadlocks and lock waits become LockContention,
    lost connections become StorageUnavailable.
    """

    customers: CustomerRepository
    products: ProductRepository
    orders: OrderRepository
    ledger: LedgerRepository
    shipments: ShipmentRepository
    returns: ReturnRepository
    amendments: AmendmentRepository
    history: HistoryRepository
    events: EventOutbox

    @abstractmethod
    def __enter__(self) -> UnitOfWork: ...

    @abstractmethod
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

