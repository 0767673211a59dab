"""CPU per call of the use cases on one thread, without gRPC: `python -m bench.inprocess`.

The harness measures the whole service under load; this measures what the storage path costs
by itself (the handler, the unit of work, the driver, the round trips' system calls), so that the
part of the server's CPU that comes from concurrency and gRPC can be told apart. Its own private
database, dropped afterwards; prints CPU (user + system) and wall time per call.
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from bench.__main__ import DEFAULT_MYSQL
from bench.database import private_database
from service.domain.allocation import NewOrder
from service.domain.model import Caller, IdempotencyKey, OrderLine
from service.usecases import customers, orders, products
from service.runtime.bootstrap import engine as make_engine
from service.settings import Settings
from service.runtime.bootstrap import unit_of_work

CALLER = Caller("bench", "inprocess")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(label: str, call: Callable[[], object], n: int) -> None:
    for _ in range(min(50, n)):
        call()
    cpu, wall = _cpu_s(), time.perf_counter()
    for _ in range(n):
        call()
    per = 1e6 / n
    print(f"{label:32s} CPU {(_cpu_s() - cpu) * per:7.0f} µs   wall {(time.perf_counter() - wall) * per:7.0f} µs")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mysql-url", default=DEFAULT_MYSQL)
    p.add_argument("-n", type=int, default=2000, help="calls per measurement")
    args = p.parse_args()
    with private_database(args.mysql_url, "inproc") as url:
        engine = make_engine(Settings(database_url=url))
        try:
            customer = customers.create_customer(unit_of_work(engine), "c", "52998224725", "c@example.com", "", "")
            product = products.create_product(unit_of_work(engine), CALLER, "SKU-1", "p", "", Decimal("1.00"), "BRL", 10**9)
            lines = [OrderLine(product.id, 1)]
            placed, _ = orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, lines, "", "BRL"))

            def create() -> object:
                key = IdempotencyKey("bench", uuid.uuid4().hex, "fingerprint")
                return orders.create_order(unit_of_work(engine), NewOrder(CALLER, customer.id, lines, "", "BRL", key))

            def empty_unit_of_work() -> None:
                with unit_of_work(engine):
                    pass

            measure("CreateOrder use case (with key)", create, args.n)
            measure("GetOrder use case", lambda: orders.get_order(unit_of_work(engine), placed.id), args.n)
            measure("unit of work, no statement", empty_unit_of_work, args.n)
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
