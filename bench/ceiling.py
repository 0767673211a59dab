"""The raw-SQL ceiling: N threads of mysqlclient doing the minimal CreateOrder transaction on their own tables.

`python -m bench.ceiling` reads a CeilingSpec on stdin and prints raw results like bench.loadgen.
Per order: lock the products in id order, update the stock, insert the order, its items (one
multi-row insert), the ledger and history rows, commit. No ORM, no gRPC, no validation.

With `per_tx` > 1, the batched ceiling: the same transaction for that many orders at once (the
union of their products locked in one statement, one UPDATE … CASE, multi-row inserts, one
commit), what the database can do with group commit. Its order ids are the service's own
(storage.ids), as they must be: under MySQL's default innodb_autoinc_lock_mode=2 one multi-row
INSERT's auto-increment values need not be consecutive, so LAST_INSERT_ID() + i could name another
transaction's order.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import MySQLdb

from bench.loadgen import Raw
from bench.processes import CpuMeter
from storage.ids import new_ids

_LOCK = "SELECT id, sku, price_cents, stock_quantity FROM products WHERE id IN ({}) ORDER BY id FOR UPDATE"
# id NULL: the table's AUTO_INCREMENT (a single order reads it back as lastrowid).
_ORDER = (
    "INSERT INTO orders (id, customer_id, status, currency, total_cents, note, create_time, update_time)"
    " VALUES (%s, %s, 1, 'BRL', %s, '', %s, %s)"
)
_ITEMS = "INSERT INTO order_items (order_id, product_id, sku, quantity, unit_price_cents) VALUES (%s, %s, %s, 1, %s)"
_MOVES = (
    "INSERT INTO stock_movements (product_id, kind, delta, stock_after, order_id, reason, actor, request_id, create_time)"
    " VALUES (%s, 2, -1, %s, %s, 'order', 'bench', %s, %s)"
)
_HISTORY = (
    "INSERT INTO order_status_history (order_id, from_status, to_status, actor, reason, request_id, create_time)"
    " VALUES (%s, NULL, 1, 'bench', 'order placed', %s, %s)"
)
_LOCK_ERRORS = {1205: "LOCK_TIMEOUT", 1213: "DEADLOCK"}


@dataclass
class CeilingSpec:
    connect: dict[str, Any]  # MySQLdb.connect keyword arguments
    threads: int
    warmup_s: float
    duration_s: float
    customers: list[int] = field(default_factory=list)
    products: list[int] = field(default_factory=list)
    items: int = 1
    hot: int = 0
    watch: dict[str, list[int]] = field(default_factory=dict)
    max_calls: int = 5_000_000
    seed: int = 1
    per_tx: int = 1  # orders per transaction: above 1, the batched ceiling


def place_order(conn: Any, customer: int, ids: list[int]) -> str:
    """One order of one unit per product; ids must be distinct. Returns a status name."""
    ids = sorted(ids)

    def body(cur: Any) -> str:
        cur.execute(_LOCK.format(",".join(["%s"] * len(ids))), ids)
        rows = cur.fetchall()
        if len(rows) != len(ids) or any(stock < 1 for _, _, _, stock in rows):
            conn.rollback()
            return "FAILED_PRECONDITION"
        now = datetime.now(UTC).replace(tzinfo=None)
        if len(rows) == 1:
            cur.execute("UPDATE products SET stock_quantity = %s, update_time = %s WHERE id = %s", (rows[0][3] - 1, now, ids[0]))
        else:
            cases = " ".join(["WHEN %s THEN %s"] * len(rows))
            args = [v for pid, _, _, stock in rows for v in (pid, stock - 1)]
            cur.execute(
                f"UPDATE products SET stock_quantity = CASE id {cases} END, update_time = %s WHERE id IN ({','.join(['%s'] * len(ids))})",
                (*args, now, *ids),
            )
        cur.execute(_ORDER, (None, customer, sum(price for _, _, price, _ in rows), now, now))
        order_id = cur.lastrowid
        request_id = uuid.uuid4().hex
        # mysqlclient rewrites executemany of one INSERT ... VALUES into a single multi-row INSERT.
        cur.executemany(_ITEMS, [(order_id, pid, sku, price) for pid, sku, price, _ in rows])
        cur.executemany(_MOVES, [(pid, stock - 1, order_id, request_id, now) for pid, _, _, stock in rows])
        cur.execute(_HISTORY, (order_id, request_id, now))
        conn.commit()
        return "OK"

    return _transaction(conn, body)


def place_batch(conn: Any, orders: list[tuple[int, list[int]]]) -> str:
    """Several orders (customer, distinct product ids) of one unit per product in one transaction."""
    wanted: Counter[int] = Counter(pid for _, ids in orders for pid in ids)
    ids = sorted(wanted)

    def body(cur: Any) -> str:
        cur.execute(_LOCK.format(",".join(["%s"] * len(ids))), ids)
        rows = {pid: (sku, price, stock) for pid, sku, price, stock in cur.fetchall()}
        if len(rows) != len(ids) or any(rows[pid][2] < n for pid, n in wanted.items()):
            conn.rollback()
            return "FAILED_PRECONDITION"
        now = datetime.now(UTC).replace(tzinfo=None)
        cases = " ".join(["WHEN %s THEN %s"] * len(ids))
        cur.execute(
            f"UPDATE products SET stock_quantity = CASE id {cases} END, update_time = %s WHERE id IN ({','.join(['%s'] * len(ids))})",
            (*[v for pid in ids for v in (pid, rows[pid][2] - wanted[pid])], now, *ids),
        )
        order_ids = new_ids(len(orders))
        _insert_rows(cur, _ORDER, [(oid, customer, sum(rows[p][1] for p in pids), now, now)
                                   for oid, (customer, pids) in zip(order_ids, orders, strict=True)])
        request_id = uuid.uuid4().hex
        left = {pid: rows[pid][2] for pid in ids}
        items, moves = [], []
        for oid, (_, pids) in zip(order_ids, orders, strict=True):
            for pid in pids:
                left[pid] -= 1
                items.append((oid, pid, rows[pid][0], rows[pid][1]))
                moves.append((pid, left[pid], oid, request_id, now))
        _insert_rows(cur, _ITEMS, items)
        _insert_rows(cur, _MOVES, moves)
        _insert_rows(cur, _HISTORY, [(oid, request_id, now) for oid in order_ids])
        conn.commit()
        return "OK"

    return _transaction(conn, body)


def _insert_rows(cur: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    # One multi-row INSERT, written out: executemany's rewrite does not recognise the quoted
    # literals of _ORDER, _MOVES and _HISTORY, and would send one INSERT per row.
    values = sql[sql.index("VALUES") + len("VALUES"):]
    cur.execute(sql + ("," + values) * (len(rows) - 1), [v for row in rows for v in row])


def _transaction(conn: Any, body: Callable[[Any], str]) -> str:
    """Runs body on a cursor; a lock error rolls back and is the status, anything else is raised."""
    cur = conn.cursor()
    try:
        return body(cur)
    except MySQLdb.OperationalError as error:
        conn.rollback()
        code = error.args[0] if error.args else 0
        if code in _LOCK_ERRORS:
            return _LOCK_ERRORS[code]
        raise
    finally:
        cur.close()


def run(spec: CeilingSpec) -> Raw:
    latencies: list[int] = []
    statuses: Counter[str] = Counter()
    guard = threading.Lock()
    failures: list[BaseException] = []
    started = 0
    t0 = time.perf_counter_ns()
    window_start = t0 + int(spec.warmup_s * 1e9)
    window_end = window_start + int(spec.duration_s * 1e9)

    def worker(i: int) -> None:
        nonlocal started
        rng = random.Random(spec.seed * 100_003 + i)
        conn = MySQLdb.connect(**spec.connect, autocommit=False)
        try:
            while started < spec.max_calls and (begin := time.perf_counter_ns()) < window_end:
                started += spec.per_tx
                orders = [
                    (rng.choice(spec.customers), [spec.hot] if spec.hot else rng.sample(spec.products, spec.items))
                    for _ in range(spec.per_tx)
                ]
                code = place_order(conn, *orders[0]) if spec.per_tx == 1 else place_batch(conn, orders)
                done = time.perf_counter_ns()
                if window_start <= done <= window_end:
                    with guard:
                        statuses[code] += spec.per_tx  # each order of the transaction, answered at its commit
                        if code == "OK":
                            latencies.extend([done - begin] * spec.per_tx)
        except BaseException as error:  # noqa: BLE001 - re-raised below: a dead thread must not just lower the numbers
            failures.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(spec.threads)]
    for thread in threads:
        thread.start()
    cpu = CpuMeter(spec.watch)
    time.sleep(max(0.0, (window_start - time.perf_counter_ns()) / 1e9))
    cpu.start()
    time.sleep(max(0.0, (window_end - time.perf_counter_ns()) / 1e9))
    used = cpu.stop()
    for thread in threads:
        thread.join(timeout=30)
    if failures:
        raise failures[0]
    used["client"] = used.pop("self")
    return Raw(spec.duration_s, latencies, dict(statuses), used)


def main() -> None:
    spec = CeilingSpec(**json.load(sys.stdin))
    json.dump(asdict(run(spec)), sys.stdout)


if __name__ == "__main__":
    main()
