"""The faults, by name. Each breaks one thing the harness started, holds it a moment, and heals it before returning.

Only the harness's own processes, proxies, Redis, nats-server and database are touched: workers are
found as descendants of the supervisor it spawned, the relay is the process it spawned, and
database connections are found by the private database's name.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from chaos.nats_server import NatsProcess
from chaos.proxy import TcpProxy
from chaos.redis_server import RedisProcess
from chaos.service import Service
from chaos.supervised import Supervised


@dataclass
class Targets:
    service: Service
    db_proxy: TcpProxy
    redis_proxy: TcpProxy
    redis: RedisProcess
    redis_workdir: Path
    admin: Engine  # a direct connection to the private database, not through the proxy
    database: str
    relay: Supervised  # `erp-orders relay`, started again whenever it exits
    nats: NatsProcess
    # Keeps a fault in place for its duration; tests pass a function that observes the fault instead.
    hold: Callable[[float], None] = time.sleep
    # Scales how long faults hold: faults spaced closer than DEFAULT_INTERVAL_S are held shorter, so they fit between each other.
    pace: float = 1.0


Fault = Callable[[Targets, random.Random], str]
DEFAULT_INTERVAL_S = 5.0
# A run shorter than this many default intervals gets its faults closer together: a 10 s run still sees several.
_FAULTS_AT_LEAST = 8


def spacing(duration_s: float) -> float:
    """The mean seconds between faults for a run of `duration_s`: DEFAULT_INTERVAL_S, or less for a short run."""
    return min(DEFAULT_INTERVAL_S, duration_s / _FAULTS_AT_LEAST)


def _seconds(t: Targets, rng: random.Random, low: float, high: float) -> float:
    """How long to hold a fault: between low and high seconds at the default pace."""
    return rng.uniform(low, high) * t.pace
_UNKNOWN_THREAD = 1094  # MariaDB/MySQL: KILL of a connection that has already gone


def kill_worker(t: Targets, rng: random.Random) -> str:
    workers = t.service.workers()
    pid = rng.choice(workers)
    os.kill(pid, signal.SIGKILL)
    t.service.wait_replaced(pid, len(workers))
    return f"SIGKILL worker {pid}; the supervisor replaced it"


def kill_service(t: Targets, rng: random.Random) -> str:
    supervisor, workers, restarts = t.service.supervisor(), t.service.workers(), t.service.restarts
    for pid in [supervisor, *workers]:  # the supervisor first, so that it cannot replace a worker
        os.kill(pid, signal.SIGKILL)
    t.service.wait_restarted(restarts)
    return f"SIGKILL supervisor {supervisor} and workers {workers}; the service was started again"


def pause_worker(t: Targets, rng: random.Random) -> str:
    pid = rng.choice(t.service.workers())
    seconds = _seconds(t, rng, 2, 6)  # at the default pace, mostly longer than a client's deadline
    os.kill(pid, signal.SIGSTOP)
    try:
        t.hold(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)
    return f"SIGSTOP worker {pid} for {seconds:.1f} s"


def kill_db_connections(t: Targets, rng: random.Random) -> str:
    with t.admin.connect() as conn:
        ids: list[int] = list(conn.execute(
            text("SELECT id FROM information_schema.processlist WHERE db = :db AND id <> CONNECTION_ID()"), {"db": t.database}
        ).scalars())
        killed = sum(_kill(conn, connection_id) for connection_id in ids)
    return f"killed {killed} database connections"


def _kill(conn: Connection, connection_id: int) -> bool:
    try:
        conn.execute(text(f"KILL CONNECTION {int(connection_id)}"))
        return True
    except OperationalError as error:
        if error.orig.args[0] != _UNKNOWN_THREAD:  # type: ignore[union-attr]
            raise
        return False  # it closed between the listing and the KILL


def cut_link(which: str) -> Fault:
    def fault(t: Targets, rng: random.Random) -> str:
        proxy = t.db_proxy if which == "db" else t.redis_proxy
        seconds = _seconds(t, rng, 1, 4)
        proxy.cut()
        try:
            t.hold(seconds)
        finally:
            proxy.start()
        return f"{which} link cut for {seconds:.1f} s"

    return fault


def slow_link(which: str) -> Fault:
    def fault(t: Targets, rng: random.Random) -> str:
        proxy = t.db_proxy if which == "db" else t.redis_proxy
        delay, seconds = rng.uniform(0.02, 0.3), _seconds(t, rng, 2, 5)
        proxy.delay_s = delay
        try:
            t.hold(seconds)
        finally:
            proxy.delay_s = 0.0
        return f"{which} link +{delay * 1000:.0f} ms per chunk for {seconds:.1f} s"

    return fault


def restart_redis(t: Targets, rng: random.Random) -> str:
    seconds = _seconds(t, rng, 0.5, 3)
    port = t.redis.port
    t.redis.stop()
    t.hold(seconds)
    t.redis = RedisProcess(t.redis_workdir, port=port)
    return f"Redis stopped for {seconds:.1f} s, restarted empty"


def flush_redis(t: Targets, rng: random.Random) -> str:
    keys = t.redis.client.dbsize()
    t.redis.client.flushdb()
    return f"FLUSHDB of the private Redis ({keys} keys)"


def kill_relay(t: Targets, rng: random.Random) -> str:
    pid, restarts = t.relay.current().pid, t.relay.restarts
    os.kill(pid, signal.SIGKILL)
    t.relay.wait_restarted(restarts)
    return f"SIGKILL relay {pid}; the harness started it again"


def stop_nats(t: Targets, rng: random.Random) -> str:
    # At the default pace, about the relay's 5 s publish timeout: some publishes outwait it, some time out.
    seconds = _seconds(t, rng, 2, 8)
    t.nats.stop()
    try:
        t.hold(seconds)
    finally:
        t.nats.start()  # the same port and store: the stream and its duplicate window survive
    return f"nats-server stopped for {seconds:.1f} s, started again on its port and store"


_HALF_HEADERS = b"GET /readyz HTTP/1.1\r\nHost: orders\r\n"
_HALF_BODY = b"POST /v1/customers HTTP/1.1\r\nHost: orders\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"


def slow_http_clients(t: Targets, rng: random.Random) -> str:
    """Slowloris on the REST port: connections that never finish their headers or their bodies, held
    and then closed by the harness (within the service's own header timeout, or past it)."""
    headers, bodies, seconds = rng.randint(100, 300), rng.randint(5, 20), rng.uniform(2, 12)
    with ExitStack() as held:
        for first in [_HALF_HEADERS] * headers + [_HALF_BODY] * bodies:
            sock = held.enter_context(socket.create_connection(("127.0.0.1", t.service.http_port), timeout=5))
            sock.sendall(first)
        t.hold(seconds)
    return f"{headers} connections with half their headers and {bodies} with half their body held for {seconds:.1f} s"


FAULTS: dict[str, Fault] = {
    "kill-worker": kill_worker,
    "kill-service": kill_service,
    "pause-worker": pause_worker,
    "kill-db-connections": kill_db_connections,
    "cut-db": cut_link("db"),
    "slow-db": slow_link("db"),
    "cut-redis": cut_link("redis"),
    "slow-redis": slow_link("redis"),
    "restart-redis": restart_redis,
    "flush-redis": flush_redis,
    "kill-relay": kill_relay,
    "stop-nats": stop_nats,
    "slow-http-clients": slow_http_clients,
}


NOT_INJECTED = " (not injected)"  # the suffix of a count of attempts that failed


def injected(counts: dict[str, int]) -> int:
    """How many faults a run really injected, from its counts by kind."""
    return sum(n for name, n in counts.items() if not name.endswith(NOT_INJECTED))


class Nemesis:
    """Injects one fault at a time, at random intervals, until stopped; counts each kind."""

    def __init__(self, targets: Targets, faults: list[str], interval_s: float, seed: int, record: Callable[[str, str], None]) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS)}")
        self.targets, self.faults, self.interval_s = targets, faults, interval_s
        targets.pace = min(1.0, interval_s / DEFAULT_INTERVAL_S)
        self.counts: Counter[str] = Counter(dict.fromkeys(faults, 0))  # a kind never drawn still shows, as 0
        self._rng = random.Random(seed)
        self._record = record

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._rng.uniform(0.5, 1.5) * self.interval_s):
            name = self._rng.choice(self.faults)
            self._record(name, "start")
            try:
                self._record(name, FAULTS[name](self.targets, self._rng))
                self.counts[name] += 1
            except Exception as error:  # noqa: BLE001 - a fault that could not be injected is reported, and the run goes on
                self._record(name, f"not injected: {error!r}")
                self.counts[f"{name}{NOT_INJECTED}"] += 1
