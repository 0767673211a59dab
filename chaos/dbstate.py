"""The database after a run, read once into plain values, so the checker is a pure function (and testable by hand)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from storage import outbox
from storage.schema import order_items, orders, products, status_history, stock_movements


@dataclass(frozen=True)
class Movement:
    product_id: str
    kind: int  # service.domain.model.MovementKind
    delta: int
    stock_after: int = 0
    order_id: str | None = None
    key: str | None = None  # the AdjustStock idempotency key on the ledger row
    id: str = ""  # the ledger row's, which its product stock event names


@dataclass(frozen=True)
class OrderState:
    status: int  # service.domain.model.OrderStatus
    key: str | None
    items: dict[str, int]  # product id -> units
    # (from, to) in commit order; the first row's `from` is None.
    path: list[tuple[int | None, int]] = field(default_factory=list)


@dataclass(frozen=True)
class DbState:
    stock: dict[str, int]  # product id -> stock_quantity
    movements: list[Movement]
    orders: dict[str, OrderState]
    unpublished: int = 0  # outbox events the relay has not published (yet)


def snapshot(engine: Engine) -> DbState:
    m, h = stock_movements, status_history
    with engine.connect() as conn:
        stock = {str(pid): int(q) for pid, q in conn.execute(select(products.c.id, products.c.stock_quantity)).tuples()}
        movements = [
            Movement(str(pid), int(kind), int(delta), int(after), None if oid is None else str(oid), key, str(mid))
            for mid, pid, kind, delta, after, oid, key in conn.execute(
                select(m.c.id, m.c.product_id, m.c.kind, m.c.delta, m.c.stock_after, m.c.order_id, m.c.idem_key).order_by(m.c.id)
            ).tuples()
        ]
        items: dict[str, dict[str, int]] = {}
        for oid, pid, qty in conn.execute(select(order_items.c.order_id, order_items.c.product_id, order_items.c.quantity)).tuples():
            items.setdefault(str(oid), {})[str(pid)] = int(qty)
        paths: dict[str, list[tuple[int | None, int]]] = {}
        for oid, frm, to in conn.execute(select(h.c.order_id, h.c.from_status, h.c.to_status).order_by(h.c.id)).tuples():
            paths.setdefault(str(oid), []).append((frm, int(to)))
        found = {
            str(oid): OrderState(int(status), key, items.get(str(oid), {}), paths.get(str(oid), []))
            for oid, status, key in conn.execute(select(orders.c.id, orders.c.status, orders.c.idem_key)).tuples()
        }
    return DbState(stock, movements, found, outbox.backlog(engine)[0])
