"""Correctness after a run: available stock never negative, and per product initial + adjustments − sold = available
= Σ ledger (shipments aside: they take units out of on hand and the reservation alike); storage/invariants.py holds the rest."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, exists, func, select

from storage.schema import order_items, orders, products, stock_movements

_INITIAL, _ADJUSTMENT, _SHIPMENT, _COUNT = 1, 4, 5, 6


def violations(engine: Engine, label: str) -> list[str]:
    """Every broken invariant, as one line each; empty when all hold."""
    m, i, o = stock_movements, order_items, orders
    with engine.connect() as conn:
        stock = dict(conn.execute(select(products.c.id, products.c.stock_quantity)).all())
        ledger = dict(
            conn.execute(select(m.c.product_id, func.sum(m.c.delta)).where(m.c.kind != _SHIPMENT).group_by(m.c.product_id)).all()
        )
        base = dict(
            conn.execute(
                select(m.c.product_id, func.sum(m.c.delta)).where(m.c.kind.in_([_INITIAL, _ADJUSTMENT, _COUNT])).group_by(m.c.product_id)
            ).all()
        )
        sold = dict(  # every unit ordered and not canceled, shipped or not
            conn.execute(select(i.c.product_id, func.sum(i.c.quantity - i.c.canceled_quantity)).group_by(i.c.product_id)).all()
        )
        empty = conn.execute(
            select(func.count()).select_from(o).where(~exists().where(i.c.order_id == o.c.id))
        ).scalar_one()
    found: list[str] = []
    per_product: defaultdict[int, list[str]] = defaultdict(list)
    for pid, qty in stock.items():
        if qty < 0:
            per_product[pid].append(f"stock {qty} < 0")
        if int(base.get(pid, 0)) - int(sold.get(pid, 0)) != qty:
            per_product[pid].append(f"initial+adjustments {base.get(pid, 0)} - sold {sold.get(pid, 0)} != stock {qty}")
        if int(ledger.get(pid, 0)) != qty:
            per_product[pid].append(f"ledger sum {ledger.get(pid, 0)} != stock {qty}")
    found += [f"{label}: product {pid}: {'; '.join(why)}" for pid, why in sorted(per_product.items())]
    if empty:
        found.append(f"{label}: {empty} orders have no items")
    return found
