"""The stock, shipment, return and amendment invariants, each one query over the database: what must always hold.

Run by the integration tests after races and on migrated data; the chaos checker judges the same
invariants over its snapshot (chaos/checker.py). Each query returns the rows that break it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, ScalarSelect, and_, func, or_, select, true

from service.domain.model import MovementKind, OrderStatus
from service.domain.rules import CLOSED
from service.domain.stock import ON_HAND_KINDS, RESERVATION_KINDS
from storage.schema import order_items, orders, products, return_items, returns, shipment_items, shipments, stock_movements

_m, _i = stock_movements, order_items
_OPEN = _i.c.quantity - _i.c.shipped_quantity - _i.c.canceled_quantity  # a line's open units


def _ledger_sum(kinds: frozenset[MovementKind]) -> ScalarSelect[Any]:
    return (
        select(func.coalesce(func.sum(_m.c.delta), 0))
        .where(_m.c.product_id == products.c.id, _m.c.kind.in_(sorted(int(k) for k in kinds)))
        .scalar_subquery()
    )


def _differ(conn: Connection, ours: ColumnElement[bool], figure: tuple[str, Any], expected: tuple[str, Any]) -> list[str]:
    """Products whose figure is not what it must equal."""
    rows = conn.execute(select(products.c.id, figure[1], expected[1]).where(ours, figure[1] != expected[1]))
    return [f"product {pid}: {figure[0]} {a} != {expected[0]} {b}" for pid, a, b in rows]


def violations(conn: Connection, product_ids: Sequence[str] | None = None) -> list[str]:
    """Every broken invariant, one line each; empty when all hold. With `product_ids`, only those
    products and the order lines naming them (tests sharing a database judge their own)."""
    ours = products.c.id.in_([int(p) for p in product_ids]) if product_ids is not None else true()
    our_lines = _i.c.product_id.in_([int(p) for p in product_ids]) if product_ids is not None else true()
    open_units = (
        select(func.coalesce(func.sum(_OPEN), 0))
        .where(_i.c.product_id == products.c.id)
        .scalar_subquery()
    )
    on_hand = products.c.stock_quantity + products.c.reserved_quantity
    on_hand_ledger = _ledger_sum(ON_HAND_KINDS)
    available_ledger = _ledger_sum(frozenset(MovementKind) - {MovementKind.SHIPMENT})
    found = [
        f"product {pid}: available {a} or reserved {r} is negative"
        for pid, a, r in conn.execute(
            select(products.c.id, products.c.stock_quantity, products.c.reserved_quantity)
            .where(ours, or_(products.c.stock_quantity < 0, products.c.reserved_quantity < 0))
        )
    ]
    found += _differ(conn, ours, ("reserved", products.c.reserved_quantity), ("open units", open_units))
    found += _differ(conn, ours, ("on hand", on_hand), ("the ledger's on-hand rows", on_hand_ledger))
    found += _differ(conn, ours, ("available", products.c.stock_quantity), ("the ledger's rows but shipments", available_ledger))
    found += [
        f"order {oid} product {pid}: quantity {q}, shipped {s}, canceled {c}"
        for oid, pid, q, s, c in conn.execute(
            select(_i.c.order_id, _i.c.product_id, _i.c.quantity, _i.c.shipped_quantity, _i.c.canceled_quantity).where(
                our_lines, or_(_i.c.shipped_quantity < 0, _i.c.canceled_quantity < 0, _i.c.shipped_quantity + _i.c.canceled_quantity > _i.c.quantity)
            )
        )
    ]
    in_shipments = (
        select(func.coalesce(func.sum(shipment_items.c.quantity), 0))
        .select_from(shipment_items.join(shipments, shipments.c.id == shipment_items.c.shipment_id))
        .where(and_(shipments.c.order_id == _i.c.order_id, shipment_items.c.product_id == _i.c.product_id))
        .scalar_subquery()
    )
    found += [
        f"order {oid} product {pid}: shipped {s} != its shipments' {t}"
        for oid, pid, s, t in conn.execute(
            select(_i.c.order_id, _i.c.product_id, _i.c.shipped_quantity, in_shipments).where(our_lines, _i.c.shipped_quantity != in_shipments)
        )
    ]
    found += [
        f"order {r.order_id} product {r.product_id}: {r.open} units open in a {OrderStatus(r.status).name} order"
        for r in conn.execute(
            select(_i.c.order_id, _i.c.product_id, _OPEN.label("open"), orders.c.status)
            .join(orders, orders.c.id == _i.c.order_id)
            .where(our_lines, orders.c.status.in_(sorted(int(st) for st in CLOSED)), _OPEN > 0)
        )
    ]
    found += _totals_off(conn, our_lines)
    found += _reservations_off(conn, product_ids, our_lines)
    return found + _return_violations(conn, our_lines)


def _return_violations(conn: Connection, our_lines: ColumnElement[bool]) -> list[str]:
    """Per line: 0 ≤ returned ≤ shipped, and returned = Σ its returns' units."""
    in_returns = (
        select(func.coalesce(func.sum(return_items.c.quantity), 0))
        .select_from(return_items.join(returns, returns.c.id == return_items.c.return_id))
        .where(and_(returns.c.order_id == _i.c.order_id, return_items.c.product_id == _i.c.product_id))
        .scalar_subquery()
    )
    found = [
        f"order {oid} product {pid}: returned {r} outside 0..shipped {s}"
        for oid, pid, r, s in conn.execute(
            select(_i.c.order_id, _i.c.product_id, _i.c.returned_quantity, _i.c.shipped_quantity).where(
                our_lines, or_(_i.c.returned_quantity < 0, _i.c.returned_quantity > _i.c.shipped_quantity)
            )
        )
    ]
    found += [
        f"order {oid} product {pid}: returned {r} != its returns' {t}"
        for oid, pid, r, t in conn.execute(
            select(_i.c.order_id, _i.c.product_id, _i.c.returned_quantity, in_returns).where(our_lines, _i.c.returned_quantity != in_returns)
        )
    ]
    return found


def _totals_off(conn: Connection, our_lines: ColumnElement[bool]) -> list[str]:
    """Orders (with a line among ours) whose total is not the sum of their lines' subtotals, unit
    price × quantity (canceled units included, as the order shows them): amendments recompute it."""
    subtotals = (
        select(func.coalesce(func.sum(_i.c.unit_price_cents * _i.c.quantity), 0)).where(_i.c.order_id == orders.c.id).scalar_subquery()
    )
    ours = orders.c.id.in_(select(_i.c.order_id).where(our_lines))
    rows = conn.execute(select(orders.c.id, orders.c.total_cents, subtotals).where(ours, orders.c.total_cents != subtotals))
    return [f"order {oid}: total {t} cents != its lines' {s}" for oid, t, s in rows]


def _reservations_off(conn: Connection, product_ids: Sequence[str] | None, our_lines: ColumnElement[bool]) -> list[str]:
    """Per order and product, the ledger's reservation rows (ORDER and CANCEL) net to the line's
    quantity less its canceled units: what it reserved, minus what it released, after every
    amendment; 0 for a product an amendment took off the order (it has no line any more)."""
    ours = _m.c.product_id.in_([int(p) for p in product_ids]) if product_ids is not None else true()
    held = (
        select(_m.c.order_id, _m.c.product_id, (-func.sum(_m.c.delta)).label("units"))
        .where(ours, _m.c.order_id.is_not(None), _m.c.kind.in_(sorted(int(k) for k in RESERVATION_KINDS)))
        .group_by(_m.c.order_id, _m.c.product_id)
        .subquery()
    )
    on_line = and_(held.c.order_id == _i.c.order_id, held.c.product_id == _i.c.product_id)
    lines = conn.execute(
        select(_i.c.order_id, _i.c.product_id, _i.c.quantity - _i.c.canceled_quantity, func.coalesce(held.c.units, 0))
        .select_from(_i.outerjoin(held, on_line))
        .where(our_lines, _i.c.quantity - _i.c.canceled_quantity != func.coalesce(held.c.units, 0))
    )
    found = [f"order {oid} product {pid}: the ledger holds {h} units for a line of {n} not canceled" for oid, pid, n, h in lines]
    gone = conn.execute(select(held.c.order_id, held.c.product_id, held.c.units).select_from(held.outerjoin(_i, on_line)).where(
        _i.c.order_id.is_(None), held.c.units != 0
    ))
    return found + [f"order {oid} product {pid}: the ledger holds {h} units for no line" for oid, pid, h in gone]
