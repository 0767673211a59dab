"""AmendOrder: an open order's lines changed, its stock re-checked and moved, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from service.domain import amendments, events, rules
from service.domain.amendments import Amendment
from service.domain.errors import InsufficientStock
from service.domain.model import REASON_MAX_CHARS, Caller, IdempotencyKey, MovementKind, OrderAmendment, OrderLine, StatusChange
from service.domain.ports import UnitOfWork
from service.domain.stock import StockBook
from service.usecases.keyed import once_per_key


def amend_order(
    uow: UnitOfWork, caller: Caller, order_id: str, entries: Sequence[OrderLine], reason: str, etag: str = "",
    validate_only: bool = False, key: IdempotencyKey | None = None,
) -> tuple[Amendment, bool]:
    """Sets the lines' new quantities; returns the amendment and whether it replayed `key`.

    Under the order's lock, then its changing lines' products ascending (storage/locks.py): an
    increase reserves (an ORDER ledger row), a decrease releases (a CANCEL row), all or nothing. The
    order's version moves, with a history row (its status unchanged, "amended: " and the reason) and
    an AMENDED event. Each amendment that applies writes one order_amendments row, which holds `key`
    (AmendOrder's keys live there alone: AdjustStock's and CountStock's never collide with them). One
    that changes no quantity writes that row alone if it has a key, so that a retry after a later
    amendment replays instead of setting the quantities back, and nothing without one. With
    `validate_only` the same judgement runs under the same locks, the shortages are returned instead
    of raised, and the transaction rolls back: nothing is written, no key is stored. A replay found
    by the key answers the order as it is now.
    """
    rules.ensure_one_entry_per_product([e.product_id for e in entries])

    def run() -> tuple[Amendment, bool]:
        order = uow.orders.lock(order_id)
        rules.ensure_etag(order, etag)
        moves = amendments.changes(order, entries)
        if not moves:
            if key is not None and not validate_only:
                _record(uow, caller, order.id, reason, datetime.now(UTC), key)
                uow.commit()
            return Amendment(order, [], [], []), False
        products = uow.products.lock(list(moves))
        judged = amendments.judged(order, moves, products)
        if validate_only:
            return judged, False
        if judged.shortages:
            raise InsufficientStock(judged.shortages)
        now = datetime.now(UTC)
        amended = replace(judged.order, update_time=now, version=order.version + 1)
        book = StockBook(products)
        for pid, change in sorted(moves.items()):
            kind = MovementKind.ORDER if change > 0 else MovementKind.CANCEL
            book.move(pid, kind, -change, order.id, reason or "amendment", caller, now)
        _record(uow, caller, order.id, reason, now, key)  # first: a taken key stops the rest
        uow.ledger.add(book.movements)
        uow.products.set_stock(book.stock(), now, book.sequences())
        uow.orders.amend(amended, judged.added, judged.removed)
        uow.history.add(StatusChange.in_place(order, caller, "amended", reason, now))
        uow.events.add([events.order_amended(amended, caller, now), *book.events])
        uow.commit()
        return replace(judged, order=amended), False

    if validate_only:
        with uow:
            return run()
    # A replay answers the order as it is now.
    return once_per_key(uow, key, lambda k: uow.amendments.find_by_key(k), lambda row: (Amendment(uow.orders.get(row.order_id), [], [], []), True), run)


def _record(uow: UnitOfWork, caller: Caller, order_id: str, reason: str, now: datetime, key: IdempotencyKey | None) -> None:
    """The amendment's row, with its key, written first at the commit: a key a concurrent call took
    raises KeyTaken there, and stops the rest of the batch."""
    uow.amendments.add(OrderAmendment("", order_id, reason[:REASON_MAX_CHARS], caller.actor, caller.request_id, now), key)

