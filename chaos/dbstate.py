"""The database after a run, read once into plain values, so the checker is a pure function (and testable by hand)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from service.domain.model import ShipmentState
from storage import outbox
from storage.schema import (
    order_amendments,
    order_items,
    orders,
    products,
    return_items,
    returns,
    shipment_items,
    shipments,
    status_history,
    stock_movements,
)


@dataclass(frozen=True)
class Movement:
    product_id: str
    kind: int  # service.domain.model.MovementKind
    delta: int
    stock_after: int = 0
    order_id: str | None = None
    key: str | None = None  # the AdjustStock or CountStock idempotency key on the ledger row
    id: str = ""  # the ledger row's, which its product stock event names


@dataclass(frozen=True)
class OrderState:
    status: int  # service.domain.model.OrderStatus
    key: str | None
    items: dict[str, int]  # product id -> units
    # (from, to) in commit order; the first row's `from` is None.
    path: list[tuple[int | None, int]] = field(default_factory=list)
    shipped: dict[str, int] = field(default_factory=dict)  # product id -> units shipped (absent: none)
    canceled: dict[str, int] = field(default_factory=dict)  # product id -> units canceled (absent: none)
    version: int = 0  # its changes so far, which number its events
    prices: dict[str, int] = field(default_factory=dict)  # product id -> the line's unit price, in cents
    total: int = 0  # the order's stored total, in cents
    returned: dict[str, int] = field(default_factory=dict)  # product id -> units returned (absent: none)
    # Each history row that kept the status, in order: (the status, "amended", "returned" or "" for
    # neither, by its reason's first word).
    in_place: list[tuple[int, str]] = field(default_factory=list)

    @property
    def amended(self) -> int:
        """Its history rows of amendments."""
        return sum(kind == "amended" for _, kind in self.in_place)

    @property
    def returns(self) -> int:
        """Its history rows of returns."""
        return sum(kind == "returned" for _, kind in self.in_place)

    def open_units(self, product_id: str) -> int:
        return self.items.get(product_id, 0) - self.shipped.get(product_id, 0) - self.canceled.get(product_id, 0)


@dataclass(frozen=True)
class Shipped:
    order_id: str
    items: dict[str, int]  # product id -> units
    delivered: bool
    key: str | None = None  # the CreateShipment idempotency key


@dataclass(frozen=True)
class Returned:
    order_id: str
    items: dict[str, tuple[int, int]]  # product id -> (units, disposition: service.domain.model.ReturnDisposition)
    key: str | None = None  # the CreateReturn idempotency key


@dataclass(frozen=True)
class Amended:
    order_id: str
    key: str | None = None  # the AmendOrder idempotency key, on the amendment's order_amendments row


@dataclass(frozen=True)
class DbState:
    stock: dict[str, int]  # product id -> stock_quantity: available, on hand − reserved
    movements: list[Movement]
    orders: dict[str, OrderState]
    unpublished: int = 0  # outbox events the relay has not published (yet)
    reserved: dict[str, int] = field(default_factory=dict)  # product id -> reserved_quantity (absent: 0)
    shipments: list[Shipped] = field(default_factory=list)
    returns: list[Returned] = field(default_factory=list)
    amendments: list[Amended] = field(default_factory=list)  # order_amendments, in id order


def snapshot(engine: Engine) -> DbState:
    m, h, i = stock_movements, status_history, order_items
    with engine.connect() as conn:
        figures = conn.execute(select(products.c.id, products.c.stock_quantity, products.c.reserved_quantity)).tuples().all()
        stock = {str(pid): int(q) for pid, q, _ in figures}
        reserved = {str(pid): int(r) for pid, _, r in figures}
        movements = [
            Movement(str(pid), int(kind), int(delta), int(after), None if oid is None else str(oid), key, str(mid))
            for mid, pid, kind, delta, after, oid, key in conn.execute(
                select(m.c.id, m.c.product_id, m.c.kind, m.c.delta, m.c.stock_after, m.c.order_id, m.c.idem_key).order_by(m.c.id)
            ).tuples()
        ]
        items: dict[str, dict[str, int]] = {}
        prices: dict[str, dict[str, int]] = {}
        shipped: dict[str, dict[str, int]] = {}
        canceled: dict[str, dict[str, int]] = {}
        returned: dict[str, dict[str, int]] = {}
        for oid, pid, qty, out, gone, back, price in conn.execute(
            select(
                i.c.order_id, i.c.product_id, i.c.quantity, i.c.shipped_quantity, i.c.canceled_quantity, i.c.returned_quantity,
                i.c.unit_price_cents,
            )
        ).tuples():
            items.setdefault(str(oid), {})[str(pid)] = int(qty)
            prices.setdefault(str(oid), {})[str(pid)] = int(price)
            for units, into in ((out, shipped), (gone, canceled), (back, returned)):
                if units:
                    into.setdefault(str(oid), {})[str(pid)] = int(units)
        paths: dict[str, list[tuple[int | None, int]]] = {}
        in_place: dict[str, list[tuple[int, str]]] = {}
        for oid, frm, to, why in conn.execute(select(h.c.order_id, h.c.from_status, h.c.to_status, h.c.reason).order_by(h.c.id)).tuples():
            paths.setdefault(str(oid), []).append((frm, int(to)))
            if frm == to:
                kind = next((k for k in ("amended", "returned") if why.startswith(k)), "")
                in_place.setdefault(str(oid), []).append((int(to), kind))
        found = {
            str(oid): OrderState(
                int(status), key, items.get(str(oid), {}), paths.get(str(oid), []), shipped.get(str(oid), {}),
                canceled.get(str(oid), {}), int(version), prices.get(str(oid), {}), int(total), returned.get(str(oid), {}),
                in_place.get(str(oid), []),
            )
            for oid, status, key, version, total in conn.execute(
                select(orders.c.id, orders.c.status, orders.c.idem_key, orders.c.version, orders.c.total_cents)
            ).tuples()
        }
        shipment_lines: dict[int, dict[str, int]] = {}
        for sid, pid, qty in conn.execute(select(shipment_items.c.shipment_id, shipment_items.c.product_id, shipment_items.c.quantity)).tuples():
            shipment_lines.setdefault(int(sid), {})[str(pid)] = int(qty)
        sent = [
            Shipped(str(oid), shipment_lines.get(int(sid), {}), state == int(ShipmentState.DELIVERED), key)
            for sid, oid, state, key in conn.execute(
                select(shipments.c.id, shipments.c.order_id, shipments.c.state, shipments.c.idem_key).order_by(shipments.c.id)
            ).tuples()
        ]
        return_lines: dict[int, dict[str, tuple[int, int]]] = {}
        for rid, pid, qty, disposition in conn.execute(
            select(return_items.c.return_id, return_items.c.product_id, return_items.c.quantity, return_items.c.disposition)
        ).tuples():
            return_lines.setdefault(int(rid), {})[str(pid)] = (int(qty), int(disposition))
        taken = [
            Returned(str(oid), return_lines.get(int(rid), {}), key)
            for rid, oid, key in conn.execute(select(returns.c.id, returns.c.order_id, returns.c.idem_key).order_by(returns.c.id)).tuples()
        ]
        a = order_amendments
        changed = [Amended(str(oid), key) for oid, key in conn.execute(select(a.c.order_id, a.c.idem_key).order_by(a.c.id)).tuples()]
    return DbState(stock, movements, found, outbox.backlog(engine)[0], reserved, sent, taken, changed)
