"""Order use cases: placing, moving through fulfilment, cancelling, and reading."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from collections.abc import Sequence

from service.domain import events, rules
from service.domain.allocation import NewOrder, Placed, SameKey, allocate
from service.domain.errors import FailedPrecondition, NotFound, OrdersError, Rerun
from service.domain.model import (
    Caller,
    IdempotencyKey,
    MovementKind,
    Order,
    OrderStatus,
    Page,
    PageResult,
    StatusChange,
    StockMovement,
)
from service.domain.ports import OrderFilter, UnitOfWork


# What a create refused for may be explained by an earlier call with the same key. Not
# StorageUnavailable: a lookup would only wait for the database a second time.
REFUSALS = (FailedPrecondition, NotFound, Rerun)

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
        products = uow.products.lock(sorted({line.product_id for o in batch for line in o.lines}))
        decisions, stock = allocate(batch, customers, products)
        now = datetime.now(UTC)
        placed = {
            i: (Order("", o.customer_id, OrderStatus.PENDING, d.items, o.currency, o.note, now, now), o, d)
            for i, (o, d) in enumerate(zip(batch, decisions, strict=True))
            if isinstance(d, Placed)
        }
        if placed:
            uow.orders.add_many([(order, o.key) for order, o, _ in placed.values()])
            sold = {item.product_id for _, _, d in placed.values() for item in d.items}
            movements = [
                StockMovement.new(item.product_id, MovementKind.ORDER, -item.quantity, d.after[item.product_id], order.id, "order", o.caller, now)
                for order, o, d in placed.values()
                for item in d.items
            ]
            # A product sold to several orders of the batch gets consecutive numbers, in arrival order.
            stock_events, sequences = events.stock_events(movements, products)
            uow.products.set_stock({pid: stock[pid] for pid in sorted(sold)}, now, sequences)
            uow.ledger.add(movements)
            uow.history.add_many([
                StatusChange("", order.id, None, OrderStatus.PENDING, o.caller.actor, "order placed", o.caller.request_id, now)
                for order, o, _ in placed.values()
            ])
            uow.events.add([*(events.order_created(order, o.caller, now) for order, o, _ in placed.values()), *stock_events])
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


def list_orders(uow: UnitOfWork, flt: OrderFilter, page: Page) -> PageResult[Order]:
    with uow:
        return uow.orders.list(flt, page)


def update_order_status(uow: UnitOfWork, caller: Caller, order_id: str, target: OrderStatus, reason: str) -> Order:
    """Moves the order one step. Repeating the current status is a no-op that writes nothing."""
    with uow:
        order = uow.orders.lock(order_id)
        if not rules.ensure_transition(order.id, order.status, target):
            return order
        now = datetime.now(UTC)
        moved = replace(order, status=target, update_time=now)
        uow.orders.set_status(order.id, target, now)
        uow.history.add(StatusChange("", order.id, order.status, target, caller.actor, reason, caller.request_id, now))
        uow.events.add([events.order_changed(order.status, moved, caller, now)])
        uow.commit()
    return moved


def cancel_order(uow: UnitOfWork, caller: Caller, order_id: str, reason: str) -> Order:
    """Cancels and returns each item's stock. The order row lock makes a second cancel see CANCELED."""
    with uow:
        order = uow.orders.lock(order_id)
        rules.ensure_cancelable(order.id, order.status)
        products = uow.products.lock([item.product_id for item in order.items])
        now = datetime.now(UTC)
        after = {item.product_id: products[item.product_id].stock_quantity + item.quantity for item in order.items}
        movements = [
            StockMovement.new(item.product_id, MovementKind.CANCEL, item.quantity, after[item.product_id], order.id, reason, caller, now)
            for item in order.items
        ]
        stock_events, sequences = events.stock_events(movements, products)
        canceled = replace(order, status=OrderStatus.CANCELED, update_time=now)
        uow.products.set_stock(after, now, sequences)
        uow.ledger.add(movements)
        uow.orders.set_status(order.id, OrderStatus.CANCELED, now)
        uow.history.add(
            StatusChange("", order.id, order.status, OrderStatus.CANCELED, caller.actor, reason, caller.request_id, now)
        )
        uow.events.add([events.order_changed(order.status, canceled, caller, now), *stock_events])
        uow.commit()
    return canceled


def list_status_history(uow: UnitOfWork, order_id: str, page: Page) -> PageResult[StatusChange]:
    with uow:
        uow.orders.get(order_id)
        return uow.history.list(order_id, page)
