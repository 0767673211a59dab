"""The memory a big export costs the server: `python -m bench.export_memory --orders 100000`.

Seeds a private database with one-line orders (bench/database.py), starts `erp-orders serve` as one
process (the gRPC server and its REST gateway), streams `GET /v1/orders:export` to its end while
only counting what arrives, and reports the server's resident memory (VmRSS) before the export and
its peak (VmHWM) during it. The difference is what the export held at most: one page of orders on
the server, one chunk of CSV in the gateway, and what the sockets buffer; it must not grow with the
number of orders exported (run it with two sizes to see that).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine

from bench.database import private_database, seed_catalogue, top_up_orders
from bench.server import running_service

_ENV = {"ORDERS_AUTH": "disabled", "ORDERS_GRPC_PROCESSES": "1", "ORDERS_RATE_LIMIT_READ": "off", "ORDERS_RATE_LIMIT_WRITE": "off"}


def _memory_kib(pid: int) -> dict[str, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def _gateway_ready(http: httpx.Client, timeout_s: float = 60) -> None:
    """gRPC answers SERVING before the gateway listens: wait for /readyz too."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if http.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def measure(server_url: str, n_orders: int) -> dict[str, float]:
    with private_database(server_url, "export") as url:
        engine = create_engine(url)
        top_up_orders(engine, seed_catalogue(engine, 100, 20), n_orders)
        engine.dispose()
        with tempfile.TemporaryDirectory() as logs, running_service(url, _ENV, Path(logs) / "serve.log") as service:
            base = f"http://{service.http_target}"
            with httpx.Client(base_url=base, timeout=600) as http:
                _gateway_ready(http)
                http.get("/v1/orders", params={"pageSize": "1000"}).raise_for_status()  # warm: imports, pools, caches
                before = _memory_kib(service.pid)
                started, rows, size = time.monotonic(), 0, 0
                with http.stream("GET", "/v1/orders:export") as reply:
                    reply.raise_for_status()
                    for chunk in reply.iter_bytes():
                        rows += chunk.count(b"\n")
                        size += len(chunk)
                seconds = time.monotonic() - started
                after = _memory_kib(service.pid)
    return {
        "orders": n_orders, "csv_rows": rows - 1, "csv_mib": size / 2**20, "seconds": seconds,
        "rss_before_mib": before["VmRSS"] / 1024, "peak_before_mib": before["VmHWM"] / 1024,
        "peak_after_mib": after["VmHWM"] / 1024, "peak_growth_mib": (after["VmHWM"] - before["VmRSS"]) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[100_000])
    parser.add_argument("--server-url", default="mysql+mysqldb://root@127.0.0.1:3306")
    args = parser.parse_args()
    for n in args.orders:
        result = measure(args.server_url, n)
        print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()
