"""The harness's private databases (bench_<random>, created and dropped here) and their seed data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, func, insert, select, text, update
from sqlalchemy.engine import URL, make_url

from storage.migrate import upgrade
from storage.schema import customers, order_items, orders, products, status_history, stock_movements

INITIAL_STOCK = 10**9  # never runs out, so every CreateOrder in the benchmark can succeed
_CHUNK = 5_000
_CANCELED, _PENDING = 6, 1
_INITIAL, _ORDER, _CANCEL = 1, 2, 3


@dataclass(frozen=True)
class Catalogue:
    customers: list[int]
    products: list[int]


def mysqldb_args(url: str) -> dict[str, Any]:
    """MySQLdb.connect() arguments for a SQLAlchemy URL (for the raw ceiling)."""
    u = make_url(url)
    args: dict[str, Any] = {"host": u.host or "127.0.0.1", "port": u.port or 3306, "user": u.username or "root"}
    if u.password:
        args["password"] = u.password
    if u.database:
        args["database"] = u.database
    return args | {"charset": "utf8mb4"}


@contextmanager
def private_database(server_url: str, label: str) -> Iterator[str]:
    """Creates bench_<random>[_label], migrated to head; yields its URL and always drops it."""
    name = f"bench_{uuid.uuid4().hex[:10]}" + (f"_{label}" if label else "")
    server: URL = make_url(server_url).set(database=None)
    admin = create_engine(server)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def seed_catalogue(engine: Engine, n_customers: int, n_products: int, stock: int = INITIAL_STOCK) -> Catalogue:
    """Customers and products with `stock` units each (by default a huge stock), each product with its INITIAL ledger row."""
    now = datetime.now(UTC)  # aware: UtcDateTime converts it
    with engine.begin() as conn:
        customer_ids = _add_customers(conn, n_customers, now)
        conn.execute(insert(products), [
            {"sku": f"BENCH-{i:05d}", "name": f"Bench product {i}", "description": "", "price_cents": 1000 + i,
             "currency": "BRL", "stock_quantity": stock, "active": True, "create_time": now, "update_time": now}
            for i in range(n_products)
        ])
        product_ids: list[int] = list(conn.execute(select(products.c.id).order_by(products.c.id)).scalars())
        conn.execute(insert(stock_movements), [
            {"product_id": pid, "kind": _INITIAL, "delta": stock, "stock_after": stock, "order_id": None,
             "reason": "initial stock", "actor": "bench", "request_id": "", "create_time": now}
            for pid in product_ids
        ])
    return Catalogue(customer_ids, product_ids)


def seed_customers(engine: Engine, n: int) -> list[int]:
    """Customers only, for a caller that creates its products through the service's own use case."""
    with engine.begin() as conn:
        return _add_customers(conn, n, datetime.now(UTC))


def _add_customers(conn: Any, n: int, now: datetime) -> list[int]:
    conn.execute(insert(customers), [
        {"name": f"Bench Buyer {i}", "document": f"B{i:013d}", "email": f"buyer{i}@bench.invalid", "phone": "",
         "address": "", "active": True, "create_time": now, "update_time": now}
        for i in range(n)
    ])
    return list(conn.execute(select(customers.c.id).order_by(customers.c.id)).scalars())


def count_orders(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(orders)).scalar_one())


def last_order_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one())


def mean_batch_size(engine: Engine, after_id: int) -> float:
    """Orders per transaction among the orders after this id: a group-commit batch gives all its
    orders one create_time, and single orders get one each (microseconds apart)."""
    with engine.connect() as conn:
        n, times = conn.execute(
            select(func.count(), func.count(orders.c.create_time.distinct())).where(orders.c.id > after_id)
        ).one()
    return round(n / times, 2) if times else 0.0


def top_up_orders(engine: Engine, catalogue: Catalogue, target: int) -> int:
    """Adds one-item orders (every 20th canceled, its unit released) until the table holds `target`; keeps the
    invariants (storage/invariants.py): the others' units are reserved."""
    missing = target - count_orders(engine)
    while missing > 0:
        n = min(_CHUNK, missing)
        with engine.begin() as conn:
            _add_orders(conn, catalogue, n)
        missing -= n
    return count_orders(engine)


def _add_orders(conn: Any, catalogue: Catalogue, n: int) -> None:
    now = datetime.now(UTC)  # aware: UtcDateTime converts it
    first = int(conn.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one()) + 1  # above every id so far
    stock = dict(conn.execute(select(products.c.id, products.c.stock_quantity).with_for_update()).all())
    skus = dict(conn.execute(select(products.c.id, products.c.sku)).all())
    rows, items, moves, history, sold = [], [], [], [], dict.fromkeys(stock, 0)
    for k in range(n):
        oid, pid = first + k, catalogue.products[(first + k) % len(catalogue.products)]
        canceled = oid % 20 == 0
        rows.append({"id": oid, "customer_id": catalogue.customers[oid % len(catalogue.customers)],
                     "status": _CANCELED if canceled else _PENDING, "currency": "BRL", "total_cents": 1000, "note": "",
                     "create_time": now, "update_time": now, "version": 2 if canceled else 1})
        items.append({"order_id": oid, "product_id": pid, "sku": skus[pid], "quantity": 1, "unit_price_cents": 1000,
                      "canceled_quantity": 1 if canceled else 0})
        stock[pid] -= 1
        moves.append(_move(pid, _ORDER, -1, stock[pid], oid, now))
        history.append(_change(oid, None, _PENDING, now))
        if canceled:
            stock[pid] += 1
            moves.append(_move(pid, _CANCEL, 1, stock[pid], oid, now))
            history.append(_change(oid, _PENDING, _CANCELED, now))
        else:
            sold[pid] += 1
    for table, values in ((orders, rows), (order_items, items), (stock_movements, moves), (status_history, history)):
        conn.execute(insert(table), values)
    conn.execute(
        update(products).where(products.c.id == bindparam("pid")).values(
            stock_quantity=products.c.stock_quantity - bindparam("q"), reserved_quantity=products.c.reserved_quantity + bindparam("q"),
        ),
        [{"pid": pid, "q": q} for pid, q in sold.items() if q],
    )


def _move(pid: int, kind: int, delta: int, after: int, oid: int, now: datetime) -> dict[str, Any]:
    return {"product_id": pid, "kind": kind, "delta": delta, "stock_after": after, "order_id": oid, "reason": "seed",
            "actor": "bench", "request_id": "", "create_time": now}


def _change(oid: int, from_status: int | None, to_status: int, now: datetime) -> dict[str, Any]:
    return {"order_id": oid, "from_status": from_status, "to_status": to_status, "actor": "bench", "reason": "seed",
            "request_id": "", "create_time": now}


def sample_order_ids(engine: Engine, n: int) -> list[str]:
    """Up to n existing order ids, spread over the whole table."""
    with engine.connect() as conn:
        ids: list[int] = list(conn.execute(select(orders.c.id)).scalars())
    step = max(1, len(ids) // n)
    return [str(i) for i in ids[::step][:n]]
