"""The events invariant: the stream, read back whole after the run, holds every committed change's
event exactly once, each order's and product's in sequence 1..n, and agrees with the database (one
RETURN_CREATED per stored return).

A pure function of (DbState, stream events): the unit tests hand it streams with events missing,
repeated or out of sequence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from chaos.dbstate import DbState, Movement, OrderState
from chaos.stream import StreamEvent
from chaos.verdict import Verdict
from service.domain.model import MovementKind, OrderStatus

_CREATED, _CANCELED, _RETURN_CREATED, _AMENDED = 1, 3, 6, 7  # erp.orders.v1.OrderEventType

_NAMES = {s.value: s.name for s in OrderStatus}
NAME = "every committed change has its event, once, in sequence"
Aggregates = dict[tuple[str, str], dict[int, StreamEvent]]  # (aggregate, id) -> sequence -> its first copy


def events_published(db: DbState, stream: Sequence[StreamEvent]) -> Verdict:
    found = [f"{db.unpublished} outbox events were still unpublished when the run ended"] if db.unpublished else []
    copies = Counter(e.id for e in stream)
    found += [f"event {eid} is in the stream {n} times" for eid, n in sorted(copies.items()) if n > 1]
    in_order: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    aggregates: Aggregates = defaultdict(dict)
    for e in stream:
        if e.sequence not in aggregates[(e.aggregate, e.aggregate_id)]:
            in_order[(e.aggregate, e.aggregate_id)].append(e.sequence)
            aggregates[(e.aggregate, e.aggregate_id)][e.sequence] = e
    for (aggregate, aid), seqs in sorted(in_order.items()):
        if seqs != list(range(1, len(seqs) + 1)):
            found.append(f"{aggregate} {aid}: sequences {_brief(seqs)} in stream order, not 1..{len(seqs)}")
    found += _order_errors(db, aggregates)
    found += _product_errors(db, aggregates)
    changes = sum(o.version for o in db.orders.values()) + len(db.movements)
    return Verdict(NAME, changes, found)


def _order_errors(db: DbState, aggregates: Aggregates) -> Iterable[str]:
    """An order's events are its changes 1..version: the first CREATED, and the statuses they carry,
    each repeat of the one before dropped, are its status history (its moves); each amendment in its
    history has its AMENDED event; one RETURN_CREATED per return of the order."""
    yield from (f"order {aid}: in the stream, not in the database" for kind, aid in aggregates if kind == "order" and aid not in db.orders)
    returns = Counter(r.order_id for r in db.returns)
    for oid, order in sorted(db.orders.items()):
        events = aggregates.get(("order", oid), {})
        yield from (f"order {oid}: change {n} has no event" for n in range(1, order.version + 1) if n not in events)
        yield from (f"order {oid}: event {n} has no change in the database" for n in sorted(events) if n > order.version)
        if 1 in events and (events[1].order_type, events[1].status) != (_CREATED, OrderStatus.PENDING):
            yield f"order {oid}: event 1 has type {events[1].order_type} with status {_status(events[1].status)}"
        seen = [events[n] for n in range(1, order.version + 1) if n in events]
        if len(seen) == order.version:
            moves = [e.status for e, before in zip(seen, [None, *seen], strict=False) if before is None or e.status != before.status]
            path = [to for frm, to in order.path if frm != to]  # changes in place (amendments) move nothing
            if moves != path:
                yield f"order {oid}: its events move through {[_status(m) for m in moves]}, its history {[_status(to) for to in path]}"
            if (amended := sum(e.order_type == _AMENDED for e in seen)) != order.amended:
                yield f"order {oid}: {amended} AMENDED events, {order.amended} amendments in its history"
            if (created := sum(e.order_type == _RETURN_CREATED for e in seen)) != returns[oid]:
                yield f"order {oid}: {created} RETURN_CREATED events for {returns[oid]} returns"
            yield from (
                f"order {oid}: event {e.sequence} is CANCELED with status {_status(e.status)}"
                for e in seen if (e.order_type == _CANCELED) != (e.status == OrderStatus.CANCELED)
            )
        yield from _final_status(oid, order, events)


def _final_status(oid: str, order: OrderState, events: dict[int, StreamEvent]) -> Iterable[str]:
    if events and (last := events[max(events)]).status != order.status:
        yield f"order {oid}: the stream ends at {_status(last.status)}, the database holds {_status(order.status)}"


def _product_errors(db: DbState, aggregates: Aggregates) -> Iterable[str]:
    # The k-th ledger row of a product, by id, is its k-th event: rows are written under the
    # product's row lock, which also numbers its events. Events do not name the row (its id is
    # assigned by the same INSERT), nor carry the AdjustStock key, so rows are compared without them.
    ledger: defaultdict[str, list[Movement]] = defaultdict(list)
    for m in db.movements:
        ledger[m.product_id].append(m)
    for pid in sorted(set(db.stock) | {aid for kind, aid in aggregates if kind == "product"}):
        events = aggregates.get(("product", pid), {})
        for n, row in enumerate(ledger[pid], start=1):
            e = events.get(n)
            if e is None:
                yield f"product {pid}: ledger row {row.id} ({MovementKind(row.kind).name} {row.delta:+d}) has no event"
            elif e.movement is None or _bare(e.movement) != _bare(row):
                yield f"product {pid}: event {n} says {e.movement}, ledger row {row.id} is {row}"
        yield from (f"product {pid}: event {n} has no ledger row" for n in sorted(events) if n > len(ledger[pid]))
        if events and (last := events[max(events)].movement) is not None and last.stock_after != db.stock.get(pid):
            yield f"product {pid}: the stream ends at stock {last.stock_after}, the database holds {db.stock.get(pid)}"


def _bare(m: Movement) -> Movement:
    return replace(m, key=None, id="")


def _status(value: int | None) -> str:
    return "none" if value is None else _NAMES.get(value, str(value))


def _brief(seqs: list[int]) -> str:
    return str(seqs) if len(seqs) <= 12 else f"[{', '.join(map(str, seqs[:10]))}, … {seqs[-1]}] ({len(seqs)})"
