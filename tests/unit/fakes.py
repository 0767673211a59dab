"""In-memory adapters of the ports in service/domain/ports.py, for fast use-case tests (as cosmicpython's
FakeRepository and FakeUnitOfWork).

They keep the guarantees the use cases rely on from storage: a transaction sees its own writes, and only
commit() makes them visible to the next one (leaving `with` without it rolls back); the idempotency keys
of orders, shipments, returns, amendments and stock movements are unique (a taken key raises KeyTaken, as the unique index does); ids
are assigned on insert. There are no locks: these tests run one use case at a time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType

from service.domain.errors import KeyTaken, NotFound
from service.domain.events import Event
from service.domain.model import (
    Customer,
    IdempotencyKey,
    Order,
    OrderAmendment,
    Page,
    PageResult,
    Product,
    Return,
    Shipment,
    ShipmentState,
    StatusChange,
    Stock,
    StockMovement,
)
from service.domain.ports import (
    AmendmentRepository,
    CustomerFilter,
    CustomerRepository,
    EventOutbox,
    HistoryRepository,
    LedgerRepository,
    OrderFilter,
    OrderRepository,
    ProductFilter,
    ProductRepository,
    ReturnRepository,
    ShipmentRepository,
    UnitOfWork,
)


@dataclass
class Tables:
    """What a database holds: the committed state, copied whole into each transaction."""

    customers: dict[str, Customer] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    order_keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # → (order id, fingerprint)
    ledger: list[StockMovement] = field(default_factory=list)
    ledger_keys: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # → (index, fingerprint)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    shipment_keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # → (shipment id, fingerprint)
    returns: dict[str, Return] = field(default_factory=dict)
    return_keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # → (return id, fingerprint)
    amendments: dict[str, OrderAmendment] = field(default_factory=dict)
    amendment_keys: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # → (amendment id, fingerprint)
    history: list[StatusChange] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    last_id: int = 0

    def next_id(self) -> str:
        self.last_id += 1
        return str(self.last_id)


def _page(items: Sequence[object], page: Page) -> PageResult:  # type: ignore[type-arg]
    start = int(page.after) if page.after else 0
    chunk = list(items[start : start + page.size])
    return PageResult(chunk, str(start + page.size) if start + page.size < len(items) else None)


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _t(self) -> Tables:
        return self._uow.working


class FakeCustomers(_Repository, CustomerRepository):
    def add(self, customer: Customer) -> Customer:
        added = replace(customer, id=self._t.next_id())
        self._t.customers[added.id] = added
        return added

    def get(self, customer_id: str) -> Customer:
        if customer_id not in self._t.customers:
            raise NotFound("customer", customer_id)
        return self._t.customers[customer_id]

    def get_many(self, customer_ids: Iterable[str]) -> dict[str, Customer]:
        return {i: self._t.customers[i] for i in customer_ids if i in self._t.customers}

    def lock(self, customer_id: str) -> Customer:
        return self.get(customer_id)

    def save(self, customer: Customer) -> None:
        self._t.customers[customer.id] = customer

    def list(self, flt: CustomerFilter, page: Page) -> PageResult[Customer]:
        return _page(list(self._t.customers.values()), page)


class FakeProducts(_Repository, ProductRepository):
    def add(self, product: Product) -> Product:
        added = replace(product, id=self._t.next_id())
        self._t.products[added.id] = added
        return added

    def get(self, product_id: str) -> Product:
        if product_id not in self._t.products:
            raise NotFound("product", product_id)
        return self._t.products[product_id]

    def lock(self, product_ids: Sequence[str]) -> dict[str, Product]:
        return {i: self._t.products[i] for i in product_ids if i in self._t.products}

    def save(self, product: Product) -> None:
        self._t.products[product.id] = product

    def set_stock(self, stock: Mapping[str, Stock], when: datetime, sequences: Mapping[str, int]) -> None:
        for pid, figures in stock.items():
            self._t.products[pid] = replace(
                self._t.products[pid], stock_quantity=figures.available, reserved_quantity=figures.reserved,
                update_time=when, stock_sequence=sequences[pid],
            )

    def list(self, flt: ProductFilter, page: Page) -> PageResult[Product]:
        return _page(list(self._t.products.values()), page)


class FakeOrders(_Repository, OrderRepository):
    def add_many(self, orders: Sequence[tuple[Order, IdempotencyKey | None]]) -> None:
        for order, key in orders:
            if key is not None and (key.principal, key.key) in self._t.order_keys:
                raise KeyTaken()
            order.id = self._t.next_id()  # as storage does: the caller's Order gets its id
            self._t.orders[order.id] = replace(order)
            if key is not None:
                self._t.order_keys[(key.principal, key.key)] = (order.id, key.fingerprint)

    def find_by_key(self, key: IdempotencyKey) -> tuple[Order, str] | None:
        found = self._t.order_keys.get((key.principal, key.key))
        return None if found is None else (self._t.orders[found[0]], found[1])

    def get(self, order_id: str) -> Order:
        if order_id not in self._t.orders:
            raise NotFound("order", order_id)
        return self._t.orders[order_id]

    def find_references(self, references: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        stored = {(o.customer_id, o.external_reference): o.id for o in self._t.orders.values() if o.external_reference}
        return {pair: stored[pair] for pair in references if pair in stored}

    def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        return {i: self._t.orders[i] for i in order_ids if i in self._t.orders}

    def lock(self, order_id: str) -> Order:
        return self.get(order_id)

    def save(self, order: Order, lines: bool) -> None:
        stored = self._t.orders[order.id]
        self._t.orders[order.id] = replace(
            stored, status=order.status, version=order.version, update_time=order.update_time, items=order.items if lines else stored.items
        )

    def amend(self, order: Order, added: Sequence[str], removed: Sequence[str]) -> None:
        stored = self._t.orders[order.id]
        self._t.orders[order.id] = replace(stored, items=order.items, version=order.version, update_time=order.update_time)

    def list(self, flt: OrderFilter, page: Page) -> PageResult[Order]:
        found = [o for o in self._t.orders.values() if not flt.statuses or o.status in flt.statuses]
        return _page(found[::-1], page)


    def reserving(self, product_id: str, limit: int) -> list[str]:
        holding = [o.id for o in self._t.orders.values() for i in o.items if i.product_id == product_id and i.open_quantity]
        return holding[:limit]


class FakeLedger(_Repository, LedgerRepository):
    def add(self, movements: Sequence[StockMovement]) -> None:
        self._t.ledger += [replace(m, id=self._t.next_id()) for m in movements]

    def add_one(self, movement: StockMovement, key: IdempotencyKey | None) -> StockMovement:
        if key is not None and (key.principal, key.key) in self._t.ledger_keys:
            raise KeyTaken()
        added = replace(movement, id=self._t.next_id())
        self._t.ledger.append(added)
        if key is not None:
            self._t.ledger_keys[(key.principal, key.key)] = (len(self._t.ledger) - 1, key.fingerprint)
        return added

    def find_by_key(self, key: IdempotencyKey) -> tuple[StockMovement, str] | None:
        found = self._t.ledger_keys.get((key.principal, key.key))
        return None if found is None else (self._t.ledger[found[0]], found[1])

    def list(self, product_id: str, page: Page) -> PageResult[StockMovement]:
        return _page([m for m in self._t.ledger if m.product_id == product_id], page)


class FakeShipments(_Repository, ShipmentRepository):
    def add(self, shipment: Shipment, key: IdempotencyKey | None) -> Shipment:
        if key is not None and (key.principal, key.key) in self._t.shipment_keys:
            raise KeyTaken()
        added = replace(shipment, id=self._t.next_id())
        self._t.shipments[added.id] = added
        if key is not None:
            self._t.shipment_keys[(key.principal, key.key)] = (added.id, key.fingerprint)
        return added

    def find_by_key(self, key: IdempotencyKey) -> tuple[Shipment, str] | None:
        found = self._t.shipment_keys.get((key.principal, key.key))
        return None if found is None else (self._t.shipments[found[0]], found[1])

    def get(self, order_id: str, shipment_id: str) -> Shipment:
        found = self._t.shipments.get(shipment_id)
        if found is None or found.order_id != order_id:
            raise NotFound("shipment", shipment_id)
        return found

    def of_order(self, order_id: str) -> list[Shipment]:
        return [s for s in self._t.shipments.values() if s.order_id == order_id]

    def list(self, order_id: str, page: Page) -> PageResult[Shipment]:
        return _page(self.of_order(order_id), page)

    def deliver(self, shipment_ids: Sequence[str], when: datetime) -> None:
        for i in shipment_ids:
            self._t.shipments[i] = replace(self._t.shipments[i], state=ShipmentState.DELIVERED, deliver_time=when)


class FakeReturns(_Repository, ReturnRepository):
    def add(self, order_return: Return, key: IdempotencyKey | None) -> Return:
        if key is not None and (key.principal, key.key) in self._t.return_keys:
            raise KeyTaken()
        added = replace(order_return, id=self._t.next_id())
        self._t.returns[added.id] = added
        if key is not None:
            self._t.return_keys[(key.principal, key.key)] = (added.id, key.fingerprint)
        return added

    def find_by_key(self, key: IdempotencyKey) -> tuple[Return, str] | None:
        found = self._t.return_keys.get((key.principal, key.key))
        return None if found is None else (self._t.returns[found[0]], found[1])

    def list(self, order_id: str, page: Page) -> PageResult[Return]:
        return _page([r for r in self._t.returns.values() if r.order_id == order_id], page)


class FakeAmendments(_Repository, AmendmentRepository):
    def add(self, amendment: OrderAmendment, key: IdempotencyKey | None) -> None:
        if key is not None and (key.principal, key.key) in self._t.amendment_keys:
            raise KeyTaken()
        added = replace(amendment, id=self._t.next_id())
        self._t.amendments[added.id] = added
        if key is not None:
            self._t.amendment_keys[(key.principal, key.key)] = (added.id, key.fingerprint)

    def find_by_key(self, key: IdempotencyKey) -> tuple[OrderAmendment, str] | None:
        found = self._t.amendment_keys.get((key.principal, key.key))
        return None if found is None else (self._t.amendments[found[0]], found[1])


class FakeHistory(_Repository, HistoryRepository):
    def add(self, change: StatusChange) -> None:
        self._t.history.append(replace(change, id=self._t.next_id()))

    def add_many(self, changes: Sequence[StatusChange]) -> None:
        for change in changes:
            self.add(change)

    def list(self, order_id: str, page: Page) -> PageResult[StatusChange]:
        return _page([c for c in self._t.history if c.order_id == order_id], page)


class FakeEvents(_Repository, EventOutbox):
    def add(self, events: Sequence[Event]) -> None:
        self._t.events += events


class FakeUnitOfWork(UnitOfWork):
    """One transaction over `tables`; `commits` counts the transactions that committed."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.working = tables
        self.commits = 0
        self.customers = FakeCustomers(self)
        self.products = FakeProducts(self)
        self.orders = FakeOrders(self)
        self.ledger = FakeLedger(self)
        self.shipments = FakeShipments(self)
        self.returns = FakeReturns(self)
        self.amendments = FakeAmendments(self)
        self.history = FakeHistory(self)
        self.events = FakeEvents(self)

    def __enter__(self) -> FakeUnitOfWork:
        self.working = copy.deepcopy(self.tables)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.working = self.tables  # whatever was not committed is gone

    def commit(self) -> None:
        self.tables.__dict__.update(copy.deepcopy(self.working).__dict__)
        self.commits += 1
