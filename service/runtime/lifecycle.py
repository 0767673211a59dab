"""The process lifecycle: the serve commands, their signals, and the worker processes.

`serve` runs gRPC and the REST gateway in this process, or as N worker processes on one port
(SO_REUSEPORT), restarting a crashed one. A Python gRPC server is GIL-bound at about one core;
separate processes are the way past that. Workers are spawned, not forked: gRPC's threads and the database pool must not cross a fork.
A worker that dies is restarted after a backoff while the others keep serving (service/runtime/restarts.py);
only a crash loop stops the service, with exit code 1. SIGTERM/SIGINT stop every worker gracefully.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import multiprocessing.connection
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from service import metrics
from service.runtime.announce import addresses
from service.runtime.restarts import RestartPolicy
from service.settings import Settings

log = logging.getLogger(__name__)


def until_signalled() -> threading.Event:
    """An event that SIGTERM and SIGINT set."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    return done


def serve(settings: Settings) -> None:
    """Serves until SIGTERM or SIGINT; with grpc_processes > 1, through that many worker processes."""
    if settings.grpc_processes > 1:
        if not settings.redis_url:
            log.warning("ORDERS_GRPC_PROCESSES > 1 without ORDERS_REDIS_URL: each process keeps its own rate limits and "
                        "idempotency records (the database still keeps creates exactly-once)")
        supervise(settings)
    else:
        serve_one(settings, announce=True)


def serve_one(settings: Settings, done: threading.Event | None = None, socket_dir: Path | None = None, announce: bool = False) -> None:
    """gRPC, and the REST gateway on its own thread calling its handlers in-process (and its stream
    over a private socket in `socket_dir`), until `done` is set (by default by SIGTERM or SIGINT).
    `announce` prints the addresses once both listen (the supervisor of several workers prints them instead)."""
    if done is None:
        # Handlers first: a SIGTERM that arrives while the server is still starting must end in
        # a graceful stop, not in the default kill.
        done = until_signalled()
    # Imported here, after the signal handlers went in: they take seconds.
    from service.runtime import http_server as rest
    from service.runtime.grpc_server import build_server, not_ready, start, stop

    running = build_server(settings, socket_dir=socket_dir)
    start(running)
    log.info("gRPC listening on %s:%d", settings.grpc_host, running.port)
    gateway = rest.start(settings, rest.in_process(settings, running.dispatcher, running.local_target))
    if announce:
        print(addresses(settings, running.port, gateway.port), flush=True)
    relay_stop = threading.Event()
    relay: threading.Thread | None = None
    if settings.relay_in_serve:
        from service.events.relay import Relay

        relay = threading.Thread(target=Relay(running.engine, settings).run, args=(relay_stop,), name="relay", daemon=True)
        relay.start()
    done.wait()
    relay_stop.set()
    if relay is not None:
        relay.join(settings.shutdown_grace_s)  # it lets its leases go, so another relay takes over at once
    log.info("shutting down; in-flight calls have %.0f s", settings.shutdown_grace_s)
    not_ready(running)  # at once, for gRPC health and /readyz alike
    rest.stop(gateway)  # then HTTP: its in-flight requests still need the gRPC server
    stop(running, settings.shutdown_grace_s)


def serve_gateway(settings: Settings, target: str) -> None:
    """The REST gateway alone, in front of the gRPC server at `target`, until SIGTERM or SIGINT:
    exactly as it runs next to the gRPC server, but calling over a gRPC channel."""
    done = until_signalled()
    from service.runtime import http_server

    running = http_server.start(settings, http_server.channel(settings, target))
    done.wait()
    http_server.stop(running)


def _worker(settings: Settings, index: int, socket_dir: Path) -> None:
    # The handlers go in before the slow imports (this module imports little), so a stop during
    # start-up is graceful too.
    done = until_signalled()
    from service.runtime import logs

    logs.configure(settings.log_level, settings.log_format)
    serve_one(settings, done, socket_dir)


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    socket_dir: Path  # its private unix socket's directory, made here so that a dead worker's is removed


class _Workers:
    """The running workers and the runtime directory they share."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._starts = itertools.count()
        self.runtime = Path(tempfile.mkdtemp(prefix="erp-orders-"))
        self.running: dict[int, _Worker] = {}
        # Each worker writes its metrics here (it inherits the variable), so a scrape of any worker
        # reads the whole service; a fresh directory per run, since counters restart with the service.
        (self.runtime / "metrics").mkdir()
        metrics.use_directory(str(self.runtime / "metrics"))

    def start(self, index: int) -> None:
        socket_dir = self.runtime / f"worker-{index}.{next(self._starts)}"
        socket_dir.mkdir(mode=0o700)
        process = self._context.Process(
            target=_worker, args=(self._settings, index, socket_dir), name=f"orders-worker-{index}"
        )
        process.start()
        self.running[index] = _Worker(index, process, socket_dir)
        log.info("worker %d started (pid %s, socket directory %s)", index, process.pid, socket_dir)

    def dead(self) -> list[_Worker]:
        """Workers that exited, removed from `running`, their files removed."""
        gone = [w for w in self.running.values() if not w.process.is_alive()]
        for worker in gone:
            del self.running[worker.index]
            self._bury(worker)
            if worker.process.pid is not None:
                metrics.process_dead(worker.process.pid)
        return gone

    def wait(self, timeout_s: float) -> None:
        """Until a worker exits or `timeout_s` passes."""
        multiprocessing.connection.wait([w.process.sentinel for w in self.running.values()], timeout_s)

    def stop(self) -> list[int | None]:
        """Stops every worker gracefully (killed after the grace period) and removes the runtime directory."""
        workers = sorted(self.running.values(), key=lambda w: w.index)
        for worker in workers:
            if worker.process.is_alive():
                worker.process.terminate()  # SIGTERM: each worker drains its in-flight calls for shutdown_grace_s
        for worker in workers:
            worker.process.join(self._settings.shutdown_grace_s + 5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)
            self._bury(worker)
        shutil.rmtree(self.runtime, ignore_errors=True)
        return [w.process.exitcode for w in workers]

    @staticmethod
    def _bury(worker: _Worker) -> None:
        shutil.rmtree(worker.socket_dir, ignore_errors=True)


def supervise(settings: Settings) -> None:
    """Starts the workers and keeps them running until SIGTERM/SIGINT, or a crash loop (exit code 1)."""
    if settings.grpc_port == 0:
        raise ValueError("ORDERS_GRPC_PROCESSES > 1 needs a fixed ORDERS_GRPC_PORT: each worker binds it")
    stopping = until_signalled()
    workers = _Workers(settings)
    policy = RestartPolicy(settings.worker_crash_limit, settings.worker_crash_window_s)
    restart_at: dict[int, float] = {}  # worker index → time.monotonic() of its restart
    for index in range(settings.grpc_processes):
        workers.start(index)
    log.info("started %d worker processes on port %d", settings.grpc_processes, settings.grpc_port)
    print(addresses(settings, settings.grpc_port, settings.http_port), flush=True)
    crash_loop = False
    # Bounded waits, so a signal is noticed within a second even while every worker is healthy.
    while not stopping.is_set() and not crash_loop:
        now = time.monotonic()
        workers.wait(min([1.0, *(at - now for at in restart_at.values())]))
        if stopping.is_set():
            break
        now = time.monotonic()
        for worker in workers.dead():
            backoff = policy.crashed(now)
            log.error("worker %d (pid %s) exited with code %s", worker.index, worker.process.pid, worker.process.exitcode)
            if backoff is None:
                log.error("%d worker crashes within %g s: a crash loop; stopping the service",
                          settings.worker_crash_limit, settings.worker_crash_window_s)
                crash_loop = True
                break
            log.warning("restarting worker %d in %.1f s", worker.index, backoff)
            restart_at[worker.index] = now + backoff
        for index, at in list(restart_at.items()):
            if at <= now and not crash_loop:
                del restart_at[index]
                workers.start(index)
    codes = workers.stop()
    # -SIGTERM: a worker stopped before its handlers were in, i.e. before it served anything.
    if not crash_loop and all(code in (0, -signal.SIGTERM) for code in codes):
        log.info("workers stopped (exit codes %s)", codes)
    else:
        log.error("workers stopped (exit codes %s)", codes)
        raise SystemExit(1)
