"""Order use cases: placing, moving through fulfilment, cancelling, returns, and reading."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from collections.abc import Iterator, Sequence

from service.domain import events, rules
from service.domain.allocation import NewOrder, Placed, SameKey, allocate
from service.domain.errors import FailedPrecondition, NotFound, OrdersError, ReferenceTaken, Rerun
from service.domain.model import (
    Caller,
    IdempotencyKey,
    MovementKind,
    Order,
    OrderLine,
    OrderStatus,
    Page,
    PageResult,
    Return,
    ReturnDisposition,
    ReturnLine,
    Shipment,
    ShipmentState,
    StatusChange,
)
from service.domain.ports import OrderFilter, UnitOfWork
from service.usecases.runner import Runner
from service.domain.stock import StockBook
from service.usecases.keyed import once_per_key


# What a create refused for may be explained by an earlier call with the same key (its own order
# holds the reference it asks for, too). Not StorageUnavailable: a lookup would only wait for the
# database a second time.
REFUSALS = (FailedPrecondition, NotFound, Rerun, ReferenceTaken)

OrderOutcome = tuple[Order, bool] | OrdersError  # an order and whether it replays its key, or its refusal


def create_order(uow: UnitOfWork, order: NewOrder) -> tuple[Order, bool]:
    """Places one order, as a batch of one; returns it and whether it was a replay of its key.

    The same transaction and judgement as a batch (create_orders). A refusal, or a transaction that
    failed on a taken key or lock contention, is then explained by the key if an earlier call stored
    an order with it (`settle`); otherwise it is raised, and the runner re-runs contention.
    """
    try:
        outcome = create_orders(uow, [order])[0]
    except REFUSALS as refusal:
        outcome = refusal
    return settle(uow, order.key, outcome)


def settle(uow: UnitOfWork, key: IdempotencyKey | None, outcome: OrderOutcome) -> tuple[Order, bool]:
    """The answer to a caller: its order, or the order stored with its key when that explains its
    refusal, or the refusal raised."""
    if not isinstance(outcome, OrdersError):
        return outcome
    if isinstance(outcome, REFUSALS):
        return replay(uow, key, outcome)
    raise outcome


def replay(uow: UnitOfWork, key: IdempotencyKey | None, refusal: OrdersError) -> tuple[Order, bool]:
    """The order stored with `key`, as a replay; else the refusal is the answer.

    The key is looked up only when an order is refused, not before every order: a key already on a
    row fails the INSERT on its unique index (KeyTaken), or the basket no longer fits the stock that
    order took, and either way the stored order is the answer. In a new transaction, whose snapshot
    includes an order committed after the refused one began.
    """
    if key is not None and (found := _find(uow, key)) is not None:
        rules.ensure_same_request(found[1], key)
        return found[0], True
    raise refusal


def create_orders(uow: UnitOfWork, batch: Sequence[NewOrder]) -> list[OrderOutcome]:
    """Places orders in one transaction (group commit); one outcome per order, in batch order.

    The customers are read before the product locks are taken (time under the locks is what limits
    throughput on a hot product), then the products are locked in ascending id order. Each order is
    judged alone, in arrival order, against the stock the earlier ones left
    (service.domain.allocation). A refusal is that order's outcome and does not touch the others;
    its caller settles it (`settle`). Anything that fails the transaction itself is raised, and
    nothing of the batch is written.
    """
    with uow:
        customers = uow.customers.get_many({o.customer_id for o in batch})
        asked = {(o.customer_id, o.external_reference) for o in batch if o.external_reference}
        references = uow.orders.find_references(asked) if asked else {}
        products = uow.products.lock(sorted({line.product_id for o in batch for line in o.lines}))
        decisions, _ = allocate(batch, customers, products, references)
        now = datetime.now(UTC)
        placed = {
            i: (
                Order("", o.customer_id, OrderStatus.PENDING, d.items, o.currency, o.note, now, now, o.external_reference, d.shipping_address),
                o,
                d,
            )
            for i, (o, d) in enumerate(zip(batch, decisions, strict=True))
            if isinstance(d, Placed)
        }
        if placed:
            uow.orders.add_many([(order, o.key) for order, o, _ in placed.values()])
            # A product reserved by several orders of the batch gets consecutive numbers, in arrival order.
            book = StockBook(products)
            for order, o, placement in placed.values():
                for item in placement.items:
                    book.move(item.product_id, MovementKind.ORDER, -item.quantity, order.id, "order", o.caller, now)
            uow.products.set_stock(book.stock(), now, book.sequences())
            uow.ledger.add(book.movements)
            uow.history.add_many([
                StatusChange("", order.id, None, OrderStatus.PENDING, o.caller.actor, "order placed", o.caller.request_id, now)
                for order, o, _ in placed.values()
            ])
            uow.events.add([*(events.order_created(order, o.caller, now) for order, o, _ in placed.values()), *book.events])
            uow.commit()
    outcomes: list[OrderOutcome] = []
    for i, d in enumerate(decisions):
        if isinstance(d, SameKey):
            outcomes.append((placed[d.first][0], True))
        elif isinstance(d, Placed):
            outcomes.append((placed[i][0], False))
        else:
            outcomes.append(d)
    return outcomes


def _find(uow: UnitOfWork, key: IdempotencyKey) -> tuple[Order, str] | None:
    with uow:
        return uow.orders.find_by_key(key)


def get_order(uow: UnitOfWork, order_id: str) -> Order:
    with uow:
        return uow.orders.get(order_id)


def batch_get_orders(uow: UnitOfWork, order_ids: Sequence[str]) -> list[Order]:
    """The orders in the order asked (AIP-231), all or nothing: NotFound names every unknown id."""
    with uow:
        found = uow.orders.get_many(order_ids)
    missing = [i for i in dict.fromkeys(order_ids) if i not in found]
    if missing:
        raise NotFound("order", *missing)
    return [found[i] for i in order_ids]


def list_orders(uow: UnitOfWork, flt: OrderFilter, page: Page) -> PageResult[Order]:
    with uow:
        return uow.orders.list(flt, page)


def export_orders(run: Runner, flt: OrderFilter, page_size: int) -> Iterator[Order]:
    """Every order the filter selects, in its order: a page at a time, each in its own transaction
    (a long export holds no snapshot open and no connection between pages); the keyset carries on
    where the last page ended, so an order is never repeated, and one changed meanwhile is exported
    as its page found it (in update_time order, after its change, as a sync sees it)."""
    page = Page(page_size)
    while True:
        result = run(list_orders, flt, page)
        yield from result.items
        if result.next_after is None:
            return
        page = Page(page_size, result.next_after)


def update_order_status(
    uow: UnitOfWork, caller: Caller, order_id: str, target: OrderStatus, reason: str, etag: str = ""
) -> Order:
    """Moves the order one step. Repeating the current status is a no-op that writes nothing.

    SHIPPED ships every open unit in one shipment without tracking; DELIVERED delivers every shipment.
    """
    with uow:
        order = uow.orders.lock(order_id)
        rules.ensure_etag(order, etag)
        if not rules.ensure_transition(order.id, order.status, target):
            return order
        now = datetime.now(UTC)
        shipment = None
        if target == OrderStatus.SHIPPED:
            moved, shipment = _ship(uow, caller, order, {i.product_id: i.open_quantity for i in order.items if i.open_quantity}, "", "", reason, now)
        else:
            moved = replace(order, status=target, update_time=now, version=order.version + 1)
            uow.orders.save(moved, lines=False)
            if target == OrderStatus.DELIVERED:
                uow.shipments.deliver([s.id for s in uow.shipments.of_order(order.id) if s.state == ShipmentState.SHIPPED], now)
        _history(uow, caller, order, moved, reason, now)
        uow.events.add([events.order_changed(moved, caller, now, shipment)])
        uow.commit()
    return moved


def cancel_order(uow: UnitOfWork, caller: Caller, order_id: str, reason: str, etag: str = "") -> Order:
    """Cancels every open unit and releases its reservation. The order row lock makes a second cancel
    see nothing open."""
    with uow:
        order = uow.orders.lock(order_id)
        rules.ensure_etag(order, etag)
        now = datetime.now(UTC)
        canceled = rules.canceled(order, uow.shipments.of_order(order.id) if order.status == OrderStatus.PARTIALLY_SHIPPED else [], now)
        book = StockBook(uow.products.lock([item.product_id for item in order.items if item.open_quantity]))
        for item in order.items:
            if item.open_quantity:
                book.move(item.product_id, MovementKind.CANCEL, item.open_quantity, order.id, reason, caller, now)
        uow.products.set_stock(book.stock(), now, book.sequences())
        uow.ledger.add(book.movements)
        uow.orders.save(canceled, lines=True)
        _history(uow, caller, order, canceled, reason, now)
        uow.events.add([events.order_changed(canceled, caller, now), *book.events])
        uow.commit()
    return canceled


def create_shipment(
    uow: UnitOfWork, caller: Caller, order_id: str, lines: Sequence[OrderLine], carrier: str, tracking: str, etag: str = "",
    key: IdempotencyKey | None = None,
) -> tuple[Shipment, bool]:
    """Ships some of the order's open units; returns the shipment and whether it replayed `key`."""

    def run() -> tuple[Shipment, bool]:
        order = uow.orders.lock(order_id)
        rules.ensure_etag(order, etag)
        rules.ensure_shippable(order.id, order.status)
        now = datetime.now(UTC)
        units = {line.product_id: line.quantity for line in rules.merge_lines(lines)}
        moved, shipment = _ship(uow, caller, order, units, carrier, tracking, "shipment", now, key)
        _history(uow, caller, order, moved, "shipment", now)
        uow.events.add([events.shipment_changed(events.OrderEventType.SHIPMENT_CREATED, moved, shipment, caller, now)])
        uow.commit()
        return shipment, False

    return once_per_key(uow, key, lambda k: uow.shipments.find_by_key(k), lambda stored: (stored, True), run)


def deliver_shipment(uow: UnitOfWork, caller: Caller, order_id: str, shipment_id: str, etag: str = "") -> Shipment:
    """Marks the shipment delivered, and the order DELIVERED once nothing is open and every shipment
    is. A delivered shipment is returned as it is: nothing changes."""
    with uow:
        order = uow.orders.lock(order_id)
        rules.ensure_etag(order, etag)
        shipment = uow.shipments.get(order.id, shipment_id)
        if shipment.state == ShipmentState.DELIVERED:
            return shipment
        now = datetime.now(UTC)
        shipment = replace(shipment, state=ShipmentState.DELIVERED, deliver_time=now)
        uow.shipments.deliver([shipment.id], now)
        shipments = [shipment if s.id == shipment.id else s for s in uow.shipments.of_order(order.id)]
        moved = rules.delivered(order, shipments, now)
        uow.orders.save(moved, lines=False)
        _history(uow, caller, order, moved, "shipment delivered", now)
        uow.events.add([events.shipment_changed(events.OrderEventType.SHIPMENT_DELIVERED, moved, shipment, caller, now)])
        uow.commit()
    return shipment


def get_shipment(uow: UnitOfWork, order_id: str, shipment_id: str) -> Shipment:
    with uow:
        return uow.shipments.get(order_id, shipment_id)


def list_shipments(uow: UnitOfWork, order_id: str, page: Page) -> PageResult[Shipment]:
    with uow:
        uow.orders.get(order_id)  # NOT_FOUND for an unknown order, rather than an empty list
        return uow.shipments.list(order_id, page)


def create_return(
    uow: UnitOfWork, caller: Caller, order_id: str, lines: Sequence[ReturnLine], reason: str, etag: str = "",
    key: IdempotencyKey | None = None,
) -> tuple[Return, bool]:
    """Takes shipped units of the order back; returns the return and whether it replayed `key`.

    Under the order's lock (its items read with a locking read), then the returned products'
    locks, ascending: each line at most its shipped units not yet returned; RESTOCK lines go back
    on hand with one RETURN ledger row per product, SCRAP lines only onto the return. The status
    stays; a history row from and to it records who and why.
    """
    rules.ensure_one_entry_per_product([line.product_id for line in lines])

    def run() -> tuple[Return, bool]:
        order = uow.orders.lock(order_id)
        rules.ensure_etag(order, etag)
        now = datetime.now(UTC)
        moved = rules.returned(order, lines, now)
        change = StatusChange.in_place(order, caller, "returned", reason, now)  # its reason goes on the ledger rows too
        # Every returned product is locked, scrapped ones too: the return's items reference them, and
        # the foreign key's shared lock at the commit would otherwise come after the restocked ones'.
        book = StockBook(uow.products.lock([line.product_id for line in lines]))
        for line in lines:
            if line.disposition == ReturnDisposition.RESTOCK:
                book.move(line.product_id, MovementKind.RETURN, line.quantity, order.id, change.reason, caller, now)
        taken = uow.returns.add(Return("", order.id, tuple(lines), reason, caller.actor, caller.request_id, now), key)
        uow.products.set_stock(book.stock(), now, book.sequences())
        uow.ledger.add(book.movements)
        uow.orders.save(moved, lines=True)
        uow.history.add(change)
        uow.events.add([events.return_created(moved, taken, caller, now), *book.events])
        uow.commit()
        return taken, False

    return once_per_key(uow, key, lambda k: uow.returns.find_by_key(k), lambda stored: (stored, True), run)


def list_returns(uow: UnitOfWork, order_id: str, page: Page) -> PageResult[Return]:
    with uow:
        uow.orders.get(order_id)  # NOT_FOUND for an unknown order, rather than an empty list
        return uow.returns.list(order_id, page)


def _ship(
    uow: UnitOfWork, caller: Caller, order: Order, units: dict[str, int], carrier: str, tracking: str, reason: str, now: datetime,
    key: IdempotencyKey | None = None,
) -> tuple[Order, Shipment]:
    """Ships `units` of the locked order: its products locked in ascending id order, on hand and
    reserved down by the units, one SHIPMENT ledger row per product, the shipment stored."""
    moved = rules.shipped(order, units, now)
    book = StockBook(uow.products.lock(list(units)))
    for product_id, quantity in units.items():
        book.move(product_id, MovementKind.SHIPMENT, -quantity, order.id, reason or "shipment", caller, now)
    shipment = uow.shipments.add(Shipment("", order.id, units, carrier, tracking, ShipmentState.SHIPPED, now), key)
    uow.products.set_stock(book.stock(), now, book.sequences())
    uow.ledger.add(book.movements)
    uow.orders.save(moved, lines=True)
    uow.events.add(book.events)
    return moved, shipment


def _history(uow: UnitOfWork, caller: Caller, before: Order, after: Order, reason: str, now: datetime) -> None:
    """A history row when the change moved the status."""
    if after.status != before.status:
        uow.history.add(StatusChange("", after.id, before.status, after.status, caller.actor, reason, caller.request_id, now))


def list_status_history(uow: UnitOfWork, order_id: str, page: Page) -> PageResult[StatusChange]:
    with uow:
        uow.orders.get(order_id)
        return uow.history.list(order_id, page)
