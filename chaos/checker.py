"""The invariants, checked over the history and the database after the run; each yields a verdict.

Pure functions of (operations, DbState), and the events invariant of (DbState, stream events): the
unit tests hand them broken histories, states and streams.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise

from chaos.dbstate import DbState, OrderState
from chaos.events_invariant import events_published
from chaos.history import FAIL, OK, Operation
from chaos.stream import StreamEvent
from chaos.verdict import Verdict
from service.domain.errors import InvalidStatusTransition
from service.domain.model import MovementKind, OrderStatus
from service.domain.rules import ensure_cancelable, ensure_transition

# Answers that say the call was refused and ran nothing; anything else may have taken effect.
DEFINITE_REFUSALS = frozenset({"FAILED_PRECONDITION", "NOT_FOUND", "INVALID_ARGUMENT", "ALREADY_EXISTS", "OUT_OF_RANGE"})


def check(ops: Sequence[Operation], db: DbState, stream: Sequence[StreamEvent]) -> list[Verdict]:
    return [invariant(ops, db) for invariant in INVARIANTS] + [events_published(db, stream)]


def stock_conserved(ops: Sequence[Operation], db: DbState) -> Verdict:
    """initial + adjustments − ordered + restored = stock = Σ ledger, and no ledger row ever left stock below 0."""
    base: Counter[str] = Counter()
    ledger: Counter[str] = Counter()
    for m in db.movements:
        ledger[m.product_id] += m.delta
        if m.kind in (MovementKind.INITIAL, MovementKind.ADJUSTMENT):
            base[m.product_id] += m.delta
    ordered: Counter[str] = Counter()
    restored: Counter[str] = Counter()
    for order in db.orders.values():
        ordered.update(order.items)
        if order.status == OrderStatus.CANCELED:
            restored.update(order.items)
    found = []
    for pid, stock in sorted(db.stock.items()):
        expected = base[pid] - ordered[pid] + restored[pid]
        if stock < 0:
            found.append(f"product {pid}: stock {stock} is negative")
        if expected != stock:
            found.append(
                f"product {pid}: initial+adjustments {base[pid]} - ordered {ordered[pid]} + restored {restored[pid]} = {expected} != stock {stock}"
            )
        if ledger[pid] != stock:
            found.append(f"product {pid}: ledger sums to {ledger[pid]} != stock {stock}")
    found += [f"product {m.product_id}: a ledger row left stock at {m.stock_after}" for m in db.movements if m.stock_after < 0]
    return Verdict("stock conserved, never negative, ledger sums to it", len(db.stock), found)


def acknowledged_exactly_once(ops: Sequence[Operation], db: DbState) -> Verdict:
    """Every acknowledged create is in the database once, as ordered, and readable; every acknowledged adjustment is in the ledger once."""
    by_key = _orders_by_key(db)
    adjustments = Counter(m.key for m in db.movements if m.kind == MovementKind.ADJUSTMENT and m.key)
    found, checked = [], 0
    for op in _completed(ops, OK, "create"):
        checked += 1
        oid = op.response.get("order_id", "")
        order = db.orders.get(oid)
        if order is None:
            found.append(f"key {op.key}: acknowledged order {oid} is missing")
        elif order.key != op.key:
            found.append(f"key {op.key}: acknowledged order {oid} carries key {order.key}")
        elif order.items != _units(op.request["items"]):
            found.append(f"key {op.key}: order {oid} has items {order.items}, the request asked {_units(op.request['items'])}")
        if len(by_key.get(op.key, [])) > 1:
            found.append(f"key {op.key}: {len(by_key[op.key])} orders")
    for op in _completed(ops, OK, "adjust"):
        checked += 1
        if adjustments[op.key] != 1:
            found.append(f"key {op.key}: acknowledged adjustment is in the ledger {adjustments[op.key]} times")
    # Clients read only orders whose create was acknowledged before, so NOT_FOUND means one vanished.
    found += [f"order {op.request['order_id']}: acknowledged, then read as NOT_FOUND" for op in _completed(ops, FAIL, "read") if op.code == "NOT_FOUND"]
    return Verdict("acknowledged create or adjustment exists exactly once", checked, found)


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
    """A create or adjustment refused definitely left no order or ledger row under its key."""
    by_key = _orders_by_key(db)
    adjusted = {m.key for m in db.movements if m.kind == MovementKind.ADJUSTMENT and m.key}
    found, checked = [], 0
    for op in ops:
        if op.type != FAIL or op.code not in DEFINITE_REFUSALS or op.f not in ("create", "adjust"):
            continue
        checked += 1
        if op.f == "create" and op.key in by_key:
            found.append(f"key {op.key}: refused with {op.code}, yet order {sorted(by_key[op.key])} exists")
        if op.f == "adjust" and op.key in adjusted:
            found.append(f"key {op.key}: adjustment refused with {op.code}, yet it is in the ledger")
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
    """Each order's history is a path of the state machine ending at its status; each cancel restored stock once."""
    found: list[str] = []
    for oid, order in sorted(db.orders.items()):
        found += [f"order {oid}: {why}" for why in _path_errors(oid, order)]
    found += _restore_errors(db)
    for op in _completed(ops, OK, "cancel", "status"):
        acked = db.orders.get(op.request["order_id"])
        target = OrderStatus.CANCELED if op.f == "cancel" else op.request["status"]
        if acked is None or target not in {to for _, to in acked.path}:
            found.append(f"order {op.request['order_id']}: acknowledged move to {OrderStatus(target).name} is not in its history")
    return Verdict("status history is a valid path, each cancel restored stock once", len(db.orders), found)


def _path_errors(oid: str, order: OrderState) -> Iterable[str]:
    if not order.path or order.path[0] != (None, OrderStatus.PENDING):
        yield f"history starts {order.path[:1]}, not (None, PENDING)"
        return
    for (_, prev), (frm, to) in pairwise(order.path):
        if frm != prev:
            yield f"a move from {frm} follows a move to {prev}"
        elif not _legal(oid, OrderStatus(frm), OrderStatus(to)):
            yield f"illegal move {OrderStatus(frm).name} -> {OrderStatus(to).name}"
    if order.path[-1][1] != order.status:
        yield f"history ends at {order.path[-1][1]}, the order is {order.status}"


def _legal(oid: str, current: OrderStatus, target: OrderStatus) -> bool:
    """The service's own rules decide, so the checker and the state machine cannot drift apart."""
    try:
        if target == OrderStatus.CANCELED:
            ensure_cancelable(oid, current)
            return True
        return ensure_transition(oid, current, target)
    except InvalidStatusTransition:
        return False


def _restore_errors(db: DbState) -> list[str]:
    per_line: defaultdict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for m in db.movements:
        if m.order_id is not None and m.kind in (MovementKind.ORDER, MovementKind.CANCEL):
            per_line[(m.order_id, m.kind)][m.product_id] += 1
            if m.kind == MovementKind.CANCEL and db.orders.get(m.order_id, OrderState(0, None, {})).items.get(m.product_id) != m.delta:
                per_line[(m.order_id, -1)][m.product_id] += 1  # a restore of the wrong size
    found = []
    for oid, order in sorted(db.orders.items()):
        if per_line[(oid, MovementKind.ORDER)] != Counter(dict.fromkeys(order.items, 1)):
            found.append(f"order {oid}: sale rows {dict(per_line[(oid, MovementKind.ORDER)])} for items {order.items}")
        restores = per_line[(oid, MovementKind.CANCEL)]
        expected = Counter(dict.fromkeys(order.items, 1)) if order.status == OrderStatus.CANCELED else Counter()
        if restores != expected or per_line[(oid, -1)]:
            found.append(f"order {oid} ({OrderStatus(order.status).name}): restore rows {dict(restores)} for items {order.items}")
    return found


def _completed(ops: Sequence[Operation], type_: str, *fs: str) -> Iterable[Operation]:
    return (op for op in ops if op.type == type_ and op.f in fs)


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


INVARIANTS: list[Callable[[Sequence[Operation], DbState], Verdict]] = [
    stock_conserved, acknowledged_exactly_once, one_order_per_key, refusal_created_nothing, status_paths_valid,
    forged_tokens_refused,
]
