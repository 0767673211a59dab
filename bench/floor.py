"""The floor: a bare grpcio server answering `grpc.health.v1` only, shaped as the service's.

The same number of processes sharing one port (SO_REUSEPORT), each a sync `grpc.server` on a thread
pool of the service's size, and nothing else: no interceptors, no settings, no database, no Redis.
Scenario h runs the service's own health Check against it with the same client in alternating
windows, so the ratio of their server CPU per call is what the service's machinery costs on top of
the transport. `python -m bench.floor --port P --processes N --workers W` runs it on its own.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bench.server import ROOT, ServiceProcess, free_port, serving, stop
from service.settings import Settings


def shape(server_env: Mapping[str, str]) -> tuple[int, int]:
    """(processes, workers) of the service the bench starts: its settings, or their defaults."""
    defaults = Settings()
    return (
        int(server_env.get("ORDERS_GRPC_PROCESSES", defaults.grpc_processes)),
        int(server_env.get("ORDERS_GRPC_WORKERS", defaults.grpc_workers)),
    )


def serve(port: int, workers: int) -> None:
    """One process of the floor, until SIGTERM."""
    server = grpc.server(ThreadPoolExecutor(workers), options=[("grpc.so_reuseport", 1)])
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    server.stop(0)


@contextmanager
def running_floor(processes: int, workers: int, log: Path) -> Iterator[ServiceProcess]:
    """`processes` floor servers on one port, children of one parent (so the CPU meter, which sums a
    process tree, counts them as it counts the service's workers)."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    args = ["--port", str(port), "--processes", str(processes), "--workers", str(workers)]
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bench.floor", *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        serving(f"127.0.0.1:{port}", proc, log)
        yield ServiceProcess(proc.pid, port, 0, log)
    finally:
        stop(proc)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=Settings().grpc_workers)
    args = parser.parse_args(argv)
    # The parent serves too, as the service's first worker does; the others are its children.
    children = [
        subprocess.Popen([sys.executable, "-m", "bench.floor", "--port", str(args.port), "--workers", str(args.workers)])
        for _ in range(args.processes - 1)
    ]
    try:
        serve(args.port, args.workers)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=20)


if __name__ == "__main__":
    main()
