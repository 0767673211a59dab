"""The invariants, checked over the history and the database after the run; each yields a verdict.

Pure functions of (operations, DbState), and the events invariant of (DbState, stream events): the
unit tests hand them broken histories, states and streams.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import TypeVar

from chaos.dbstate import Amended, DbState, OrderState, Returned, Shipped
from chaos.events_invariant import events_published
from chaos.history import FAIL, OK, Operation
from chaos.stream import StreamEvent
from chaos.verdict import Verdict
from service.domain.amendments import AMENDABLE
from service.domain.model import MovementKind, OrderStatus, ReturnDisposition
from service.domain.rules import CLOSED, NEXT, RETURNABLE
from service.domain.stock import after_movement

Keyed = TypeVar("Keyed", Shipped, Returned, Amended)

# Answers that say the call was refused and ran nothing; anything else may have taken effect.
DEFINITE_REFUSALS = frozenset({"FAILED_PRECONDITION", "NOT_FOUND", "INVALID_ARGUMENT", "ALREADY_EXISTS", "OUT_OF_RANGE"})
# ABORTED for a stale read: the state moved since the client read it, and a retry of the same
# request would be refused again, so the client reads again instead.
STALE_REASONS = frozenset({"STOCK_MOVED", "ETAG_MISMATCH"})


def definite(code: str, reason: str) -> bool:
    """Whether an answer says the call ran nothing and retrying it unchanged cannot succeed."""
    return code in DEFINITE_REFUSALS or (code == "ABORTED" and reason in STALE_REASONS)


def check(ops: Sequence[Operation], db: DbState, stream: Sequence[StreamEvent]) -> list[Verdict]:
    return [invariant(ops, db) for invariant in INVARIANTS] + [events_published(db, stream)]


def stock_conserved(ops: Sequence[Operation], db: DbState) -> Verdict:
    """Per product: on hand ≥ reserved ≥ 0; reserved = Σ open units of its lines; on hand = Σ the
    ledger's on-hand rows (returns' restocks among them); available = initial + adjustments + counts
    + restocked − ordered + canceled = Σ the ledger's other rows; no ledger row ever left available
    below 0."""
    figures: defaultdict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))  # (on hand, reserved), replayed from the ledger
    for m in db.movements:
        figures[m.product_id] = after_movement(MovementKind(m.kind), m.delta, *figures[m.product_id])
    base: Counter[str] = Counter()
    for m in db.movements:
        if m.kind in (MovementKind.INITIAL, MovementKind.ADJUSTMENT, MovementKind.COUNT, MovementKind.RETURN):
            base[m.product_id] += m.delta
    ordered: Counter[str] = Counter()
    canceled: Counter[str] = Counter()
    open_units: Counter[str] = Counter()
    for order in db.orders.values():
        ordered.update(order.items)
        canceled.update(order.canceled)
        open_units.update({pid: order.open_units(pid) for pid in order.items})
    found = []
    for pid, available in sorted(db.stock.items()):
        reserved = db.reserved.get(pid, 0)
        on_hand, ledger_reserved = figures[pid]
        if available < 0 or reserved < 0:
            found.append(f"product {pid}: available {available} or reserved {reserved} is negative")
        if reserved != open_units[pid]:
            found.append(f"product {pid}: reserved {reserved} != open units {open_units[pid]}")
        if (on_hand, ledger_reserved) != (available + reserved, reserved):
            found.append(f"product {pid}: the ledger makes on hand {on_hand} and reserved {ledger_reserved}, the product {available + reserved} and {reserved}")
        expected = base[pid] - ordered[pid] + canceled[pid]
        if expected != available:
            found.append(
                f"product {pid}: initial+adjustments+counts+restocks {base[pid]} - ordered {ordered[pid]} + canceled {canceled[pid]} = {expected} != available {available}"
            )
    found += [f"product {m.product_id}: a ledger row left available at {m.stock_after}" for m in db.movements if m.stock_after < 0]
    return Verdict("stock conserved: on hand ≥ reserved ≥ 0, each the ledger's and the lines' sum", len(db.stock), found)


def lines_add_up(ops: Sequence[Operation], db: DbState) -> Verdict:
    """Per line: shipped and canceled ≥ 0, their sum ≤ quantity, shipped = Σ its shipments' units, and
    nothing open once the order is SHIPPED, DELIVERED or CANCELED."""
    sent: Counter[tuple[str, str]] = Counter()
    for shipment in db.shipments:
        sent.update({(shipment.order_id, pid): q for pid, q in shipment.items.items()})
    found = []
    for oid, order in sorted(db.orders.items()):
        for pid, quantity in sorted(order.items.items()):
            shipped, canceled = order.shipped.get(pid, 0), order.canceled.get(pid, 0)
            if shipped < 0 or canceled < 0 or shipped + canceled > quantity:
                found.append(f"order {oid} product {pid}: quantity {quantity}, shipped {shipped}, canceled {canceled}")
            if shipped != sent[(oid, pid)]:
                found.append(f"order {oid} product {pid}: shipped {shipped} != its shipments' {sent[(oid, pid)]}")
            if OrderStatus(order.status) in CLOSED and order.open_units(pid) > 0:
                found.append(f"order {oid} ({OrderStatus(order.status).name}) product {pid}: {order.open_units(pid)} units still open")
    found += [f"shipment of order {s.order_id} names products {sorted(set(s.items) - set(db.orders[s.order_id].items))} not on it"
              for s in db.shipments if s.order_id in db.orders and set(s.items) - set(db.orders[s.order_id].items)]
    return Verdict("every line's shipped and canceled units add up", sum(len(o.items) for o in db.orders.values()), found)


def returns_add_up(ops: Sequence[Operation], db: DbState) -> Verdict:
    """Per line: 0 ≤ returned ≤ shipped, and returned = Σ its returns' units; every return names
    only products of its order; each order's RETURN ledger rows, per product, = its returns'
    restocked units (a scrap moves no stock); each return has its row in the order's history."""
    back: Counter[tuple[str, str]] = Counter()
    restocked: Counter[tuple[str, str]] = Counter()
    for taken in db.returns:
        for pid, (units, disposition) in taken.items.items():
            back[(taken.order_id, pid)] += units
            if disposition == ReturnDisposition.RESTOCK:
                restocked[(taken.order_id, pid)] += units
    ledger: Counter[tuple[str, str]] = Counter()
    for m in db.movements:
        if m.kind == MovementKind.RETURN:
            ledger[(m.order_id or "", m.product_id)] += m.delta
    found = []
    for oid, order in sorted(db.orders.items()):
        for pid in sorted(order.items):
            returned, shipped = order.returned.get(pid, 0), order.shipped.get(pid, 0)
            if not 0 <= returned <= shipped:
                found.append(f"order {oid} product {pid}: returned {returned} outside 0..shipped {shipped}")
            if returned != back[(oid, pid)]:
                found.append(f"order {oid} product {pid}: returned {returned} != its returns' {back[(oid, pid)]}")
    found += [f"return of order {r.order_id} names products {sorted(set(r.items) - set(db.orders[r.order_id].items))} not on it"
              for r in db.returns if r.order_id in db.orders and set(r.items) - set(db.orders[r.order_id].items)]
    found += [
        f"order {oid} product {pid}: RETURN ledger rows {ledger[(oid, pid)]} != restocked units {restocked[(oid, pid)]}"
        for oid, pid in sorted(set(ledger) | set(restocked)) if ledger[(oid, pid)] != restocked[(oid, pid)]
    ]
    stored = Counter(r.order_id for r in db.returns)
    found += [
        f"order {oid}: {order.returns} returns in its history, {stored[oid]} stored"
        for oid, order in sorted(db.orders.items()) if order.returns != stored[oid]
    ]
    lines = sum(len(o.items) for o in db.orders.values())
    return Verdict("every line's returned units: at most shipped, its returns' sum, restocks in the ledger", lines, found)


def acknowledged_exactly_once(ops: Sequence[Operation], db: DbState) -> Verdict:
    """Every acknowledged create is in the database once, as ordered (unless amended since), and
    readable; every acknowledged adjustment or count is in the ledger once, every acknowledged
    shipment stored once, as asked; an acknowledged amendment with a key has exactly one
    order_amendments row with that key, of its own order (one that changed nothing too), and a
    validate_only one has none."""
    by_key = _orders_by_key(db)
    adjustments = Counter((m.kind, m.key) for m in db.movements if m.key)
    shipped = _by_key(db.shipments)
    found, checked = [], 0
    for op in _completed(ops, OK, "create"):
        checked += 1
        oid = op.response.get("order_id", "")
        order = db.orders.get(oid)
        if order is None:
            found.append(f"key {op.key}: acknowledged order {oid} is missing")
        elif order.key != op.key:
            found.append(f"key {op.key}: acknowledged order {oid} carries key {order.key}")
        elif not order.amended and order.items != _units(op.request["items"]):  # an amendment changed them since
            found.append(f"key {op.key}: order {oid} has items {order.items}, the request asked {_units(op.request['items'])}")
        if len(by_key.get(op.key, [])) > 1:
            found.append(f"key {op.key}: {len(by_key[op.key])} orders")
    for op in _completed(ops, OK, "adjust", "count"):
        checked += 1
        kind = MovementKind.ADJUSTMENT if op.f == "adjust" else MovementKind.COUNT
        if adjustments[(kind, op.key)] != 1:
            found.append(f"key {op.key}: acknowledged {op.f} is in the ledger {adjustments[(kind, op.key)]} times")
    for f, what, stored, lines in (("ship", "shipment", shipped, _units), ("return", "return", _by_key(db.returns), _return_lines)):
        for op in _completed(ops, OK, f):
            checked += 1
            kept: Sequence[Shipped | Returned] = stored.get(op.key, [])
            if len(kept) != 1:
                found.append(f"key {op.key}: acknowledged {what} is stored {len(kept)} times")
            elif (kept[0].order_id, kept[0].items) != (op.request["order_id"], lines(op.request["items"])):
                found.append(f"key {op.key}: {what} {kept[0]} is not the one asked for, {op.request}")
    amended = _by_key(db.amendments)
    for op in (op for op in _completed(ops, OK, "amend") if op.key):
        checked += 1
        rows = amended.get(op.key, [])
        if op.request.get("validate_only"):
            if rows:
                found.append(f"key {op.key}: a validate_only amendment left {len(rows)} amendment rows")
        elif len(rows) != 1 or rows[0].order_id != op.request["order_id"]:
            found.append(f"key {op.key}: acknowledged amendment of order {op.request['order_id']} is stored as {rows}")
    # Clients read only orders whose create was acknowledged before, so NOT_FOUND means one vanished.
    found += [f"order {op.request['order_id']}: acknowledged, then read as NOT_FOUND" for op in _completed(ops, FAIL, "read") if op.code == "NOT_FOUND"]
    return Verdict("acknowledged create, shipment, return, adjustment, count or amendment exists exactly once", checked, found)


def one_order_per_key(ops: Sequence[Operation], db: DbState) -> Verdict:
    """A key maps to at most one order, and every acknowledgement of it names that order."""
    by_key = _orders_by_key(db)
    found = [f"key {key}: orders {sorted(ids)}" for key, ids in sorted(by_key.items()) if len(ids) > 1]
    acks: defaultdict[str, set[str]] = defaultdict(set)
    for op in _completed(ops, OK, "create"):
        acks[op.key].add(op.response.get("order_id", ""))
    for key, named in sorted(acks.items()):
        if len(named) > 1:
            found.append(f"key {key}: acknowledgements name orders {sorted(named)}")
        elif by_key.get(key) and named != set(by_key[key]):
            found.append(f"key {key}: acknowledged as {sorted(named)}, stored as {sorted(by_key[key])}")
    return Verdict("a key maps to at most one order, all acks agree", len(acks) + len(by_key), found)


def refusal_created_nothing(ops: Sequence[Operation], db: DbState) -> Verdict:
    """A create, shipment, return, adjustment, count or amendment refused definitely left no order,
    shipment, return, ledger or amendment row under its key."""
    by_key = _orders_by_key(db)
    ledger = {m.key for m in db.movements if m.key}
    shipped = _by_key(db.shipments)
    taken = _by_key(db.returns)
    amended = _by_key(db.amendments)
    found, checked = [], 0
    for op in ops:
        if op.type != FAIL or not definite(op.code, op.attempts[-1].reason) or op.f not in ("create", "adjust", "count", "ship", "return", "amend"):
            continue
        checked += 1
        if op.f == "create" and op.key in by_key:
            found.append(f"key {op.key}: refused with {op.code}, yet order {sorted(by_key[op.key])} exists")
        if op.f in ("adjust", "count") and op.key in ledger:
            found.append(f"key {op.key}: {op.f} refused with {op.code}, yet it is in the ledger")
        if op.f == "ship" and op.key in shipped:
            found.append(f"key {op.key}: shipment refused with {op.code}, yet it is stored")
        if op.f == "return" and op.key in taken:
            found.append(f"key {op.key}: return refused with {op.code}, yet it is stored")
        if op.f == "amend" and op.key in amended:
            found.append(f"key {op.key}: amendment refused with {op.code}, yet it is stored")
    return Verdict("a definite refusal created nothing", checked, found)


def forged_tokens_refused(ops: Sequence[Operation], db: DbState) -> Verdict:
    """A watch from a resume token the service never issued is refused as INVALID_ARGUMENT: never
    accepted, and never an error that says the service broke."""
    del db
    found, checked = [], 0
    for op in ops:
        if op.f != "forged_watch":
            continue
        checked += 1
        if op.type == OK:
            found.append(f"forged resume token {op.request['resume_token']!r} was accepted")
        broke = [a.code for a in op.attempts if a.code in ("INTERNAL", "UNKNOWN")]
        if broke or (op.type == FAIL and op.code != "INVALID_ARGUMENT"):
            found.append(f"forged resume token {op.request['resume_token']!r}: {[a.code for a in op.attempts]}")
    return Verdict("a forged resume token is refused as INVALID_ARGUMENT", checked, found)


def status_paths_valid(ops: Sequence[Operation], db: DbState) -> Verdict:
    """Each order's history is a path of the state machine ending at its status (a return's row stays
    where the order is); each cancel released each line's open units once."""
    found: list[str] = []
    for oid, order in sorted(db.orders.items()):
        found += [f"order {oid}: {why}" for why in _path_errors(order)]
    found += _restore_errors(db)
    for op in _completed(ops, OK, "status"):
        acked = db.orders.get(op.request["order_id"])
        if acked is None or op.request["status"] not in {to for _, to in acked.path}:
            found.append(f"order {op.request['order_id']}: acknowledged move to {OrderStatus(op.request['status']).name} is not in its history")
    for op in _completed(ops, OK, "cancel"):
        acked = db.orders.get(op.request["order_id"])
        if acked is None or not acked.canceled:
            found.append(f"order {op.request['order_id']}: acknowledged cancel canceled nothing")
    return Verdict("status history is a valid path, each cancel released its open units once", len(db.orders), found)


def _path_errors(order: OrderState) -> Iterable[str]:
    if not order.path or order.path[0] != (None, OrderStatus.PENDING):
        yield f"history starts {order.path[:1]}, not (None, PENDING)"
        return
    for (_, prev), (frm, to) in pairwise(order.path):
        if frm != prev:
            yield f"a move from {frm} follows a move to {prev}"
        elif frm == to:  # a change in place: an amendment's row, or a return's
            if OrderStatus(frm) not in AMENDABLE | RETURNABLE:
                yield f"a change in place at {OrderStatus(frm).name}, where no amendment or return is allowed"
        elif OrderStatus(to) not in NEXT[OrderStatus(frm)]:  # the service's own table of moves
            yield f"illegal move {OrderStatus(frm).name} -> {OrderStatus(to).name}"
    if order.path[-1][1] != order.status:
        yield f"history ends at {order.path[-1][1]}, the order is {order.status}"
    for status, kind in order.in_place:  # each change in place where its own kind is allowed
        if OrderStatus(status) not in {"amended": AMENDABLE, "returned": RETURNABLE}.get(kind, frozenset()):
            what = {"amended": "an amendment", "returned": "a return"}.get(kind, "a change in place that is neither an amendment nor a return")
            yield f"{what} at {OrderStatus(status).name}"


def _restore_errors(db: DbState) -> list[str]:
    """One ORDER row per line for its quantity; one CANCEL row per line with canceled units, for them.
    An amended order's lines move by more rows (an increase reserves, a decrease releases), so there
    the units must net out: reserved − released = quantity − canceled, a removed line's 0."""
    rows: defaultdict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    units: defaultdict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for m in db.movements:
        if m.order_id is not None and m.kind in (MovementKind.ORDER, MovementKind.CANCEL):
            rows[(m.order_id, m.kind)][m.product_id] += 1
            units[(m.order_id, m.kind)][m.product_id] += abs(m.delta)
    found = []
    for oid, order in sorted(db.orders.items()):
        reserved, released = units[(oid, MovementKind.ORDER)], units[(oid, MovementKind.CANCEL)]
        if order.amended:
            found += [
                f"order {oid} product {pid}: the ledger reserved {reserved[pid]} and released {released[pid]}, "
                f"the line has {order.items.get(pid, 0)} with {order.canceled.get(pid, 0)} canceled"
                for pid in sorted(set(reserved) | set(released) | set(order.items))
                if reserved[pid] - released[pid] != order.items.get(pid, 0) - order.canceled.get(pid, 0)
            ]
            continue
        if rows[(oid, MovementKind.ORDER)] != Counter(dict.fromkeys(order.items, 1)) or reserved != Counter(order.items):
            found.append(f"order {oid}: reservation rows {dict(reserved)} for items {order.items}")
        restores = rows[(oid, MovementKind.CANCEL)]
        if restores != Counter(dict.fromkeys(order.canceled, 1)) or released != Counter(order.canceled):
            found.append(f"order {oid} ({OrderStatus(order.status).name}): release rows {dict(released)} for canceled units {order.canceled}")
    return found


def totals_add_up(ops: Sequence[Operation], db: DbState) -> Verdict:
    """Per order: its total = Σ unit price × quantity of its lines (amendments recompute it)."""
    found = [
        f"order {oid}: total {order.total} cents != its lines' {lines}"
        for oid, order in sorted(db.orders.items())
        if order.total != (lines := sum(order.prices.get(pid, 0) * q for pid, q in order.items.items()))
    ]
    return Verdict("every order's total is the sum of its lines", len(db.orders), found)


def _completed(ops: Sequence[Operation], type_: str, *fs: str) -> Iterable[Operation]:
    return (op for op in ops if op.type == type_ and op.f in fs)


def _by_key(rows: Iterable[Keyed]) -> dict[str, list[Keyed]]:
    """Shipments, returns or amendments by the idempotency key stored with them."""
    by_key: defaultdict[str, list[Keyed]] = defaultdict(list)
    for row in rows:
        if row.key:
            by_key[row.key].append(row)
    return dict(by_key)


def _orders_by_key(db: DbState) -> dict[str, list[str]]:
    by_key: defaultdict[str, list[str]] = defaultdict(list)
    for oid, order in db.orders.items():
        if order.key:
            by_key[order.key].append(oid)
    return dict(by_key)


def _units(items: Sequence[Sequence[object]]) -> dict[str, int]:
    """A request's lines merged per product, as the service stores them."""
    units: Counter[str] = Counter()
    for pid, qty in items:
        units[str(pid)] += int(str(qty))
    return dict(units)


def _return_lines(items: Sequence[Sequence[object]]) -> dict[str, tuple[int, int]]:
    """A return request's lines (one per product) as the service stores them."""
    return {str(pid): (int(str(qty)), int(str(disposition))) for pid, qty, disposition in items}


INVARIANTS: list[Callable[[Sequence[Operation], DbState], Verdict]] = [
    stock_conserved, lines_add_up, returns_add_up, acknowledged_exactly_once, one_order_per_key, refusal_created_nothing, status_paths_valid,
    forged_tokens_refused, totals_add_up,
]
