"""Runs the server as N worker processes on one port (SO_REUSEPORT), forwarding SIGTERM to them.

A Python gRPC server is GIL-bound at about one core; separate processes are the way past that.
Workers are spawned, not forked: gRPC's threads and the database pool must not cross a fork.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.process import BaseProcess

from service.settings import Settings

log = logging.getLogger(__name__)


def _worker(settings: Settings, index: int) -> None:
    # The handlers go in before the slow imports, so a stop during start-up is graceful too.
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    from service import logs
    from service.server import serve_one

    logs.configure(settings.log_level, settings.log_json)
    serve_one(settings, done)


def supervise(settings: Settings) -> None:
    """Starts the workers and waits. SIGTERM/SIGINT, or any worker exiting, stops them all gracefully."""
    if settings.grpc_port == 0:
        raise ValueError("ORDERS_GRPC_PROCESSES > 1 needs a fixed ORDERS_GRPC_PORT: each worker binds it")
    context = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = [
        context.Process(target=_worker, args=(settings, i), name=f"orders-worker-{i}") for i in range(settings.grpc_processes)
    ]
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    for worker in workers:
        worker.start()
    log.info("started %d worker processes on port %d", len(workers), settings.grpc_port)
    # Bounded waits, so a signal is noticed within a second even while every worker is healthy.
    while not stopping.wait(1.0):
        if any(not w.is_alive() for w in workers):
            log.error("a worker exited (codes %s); stopping the others", [w.exitcode for w in workers])
            break
    for worker in workers:
        if worker.is_alive() and worker.pid is not None:
            worker.terminate()  # SIGTERM: each worker drains its in-flight calls for shutdown_grace_s
    for worker in workers:
        worker.join(settings.shutdown_grace_s + 5)
        if worker.is_alive():
            worker.kill()
            worker.join(5)
    codes = [w.exitcode for w in workers]
    # -SIGTERM: a worker stopped before its handlers were in, i.e. before it served anything.
    if stopping.is_set() and all(code in (0, -signal.SIGTERM) for code in codes):
        log.info("workers stopped (exit codes %s)", codes)
    else:
        log.error("workers stopped (exit codes %s)", codes)
        raise SystemExit(1)
