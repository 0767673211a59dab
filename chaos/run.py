"""One run: private servers and proxies, the service and the relay, K clients and the nemesis for a
while, then heal, stop, let the relay drain the outbox, read the stream back and check."""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from bench.database import private_database, seed_customers
from bench.server import service_env
from chaos import elle, history, report, stream
from chaos.checker import check
from chaos.dbstate import snapshot
from chaos.nats_server import NatsProcess
from chaos.nemesis import Nemesis, Targets
from chaos.proxy import TcpProxy
from chaos.redis_server import RedisProcess
from chaos.service import Service
from chaos.supervised import Supervised
from chaos.transports import GrpcTransport, RestTransport, Transport
from chaos.workload import Client, Shared
from service.grpc import tokens
from service.runtime.bootstrap import unit_of_work
from service.domain.model import Caller
from service.usecases.products import create_product
from storage import outbox

CUSTOMERS, PRODUCTS, STOCK = 3, 6, 20  # few products, little stock: contention and refusals are frequent
_ROLES = ["catalog.admin", "orders.fulfil", "orders.read", "orders.write"]
# The relay's own stream and subjects, on the harness's own nats-server.
STREAM, SUBJECT_PREFIX = "CHAOS_ORDER_EVENTS", "chaos.erp.orders.v1"
DRAIN_TIMEOUT_S = 120.0  # for the relay to publish what the outbox still holds once every fault has healed


@dataclass(frozen=True)
class Config:
    duration_s: float
    seed: int
    clients: int
    faults: list[str]
    interval_s: float
    mysql_url: str
    out: Path


def run(cfg: Config) -> dict[str, Any]:
    cfg.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        url = stack.enter_context(private_database(cfg.mysql_url, "chaos"))
        admin = create_engine(url, pool_pre_ping=True)
        stack.callback(admin.dispose)
        customers, products = seed(admin)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
        targets, token = start_targets(stack, url, admin, workdir, cfg.out)
        writer = history.HistoryWriter(cfg.out / "history.jsonl")
        stack.callback(writer.close)
        shared = Shared(customers, products)
        nemesis = Nemesis(targets, cfg.faults, cfg.interval_s, cfg.seed, writer.nemesis)
        _drive(cfg, targets, token, shared, writer, nemesis)
        targets.service.stop()
        drained = _drain(admin)
        targets.relay.stop()
        db = snapshot(admin)
        published = stream.read_stream(targets.nats.url, STREAM)
        ops = history.read(writer.path)
        verdicts = check(ops, db, stream.decode(published))
        keys = [o.key for o in db.orders.values() if o.key]
        elle.export(writer.path, keys, cfg.out)
        restarts = {"service": targets.service.restarts, "relay": targets.relay.restarts}
        result = report.summary(ops, nemesis.counts, verdicts, restarts)
        result |= {"seed": cfg.seed, "duration_s": cfg.duration_s, "clients": cfg.clients, "history": str(writer.path),
                   "events": len(published), "drain_s": round(drained, 1)}
        (cfg.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
        return result


def seed(engine: Engine) -> tuple[list[str], list[str]]:
    """Customers straight into their table (they have no events); products through the service's
    own use case, so that their initial ledger rows have stock events like every later row."""
    customers = seed_customers(engine, CUSTOMERS)
    caller = Caller("chaos", "chaos-seed")
    products = [
        create_product(unit_of_work(engine), caller, f"CHAOS-{i:02d}", f"Chaos product {i}", "", Decimal("10.00"), "BRL", STOCK).id
        for i in range(PRODUCTS)
    ]
    return [str(c) for c in customers], products


def _drain(admin: Engine) -> float:
    """Seconds until the outbox had nothing unpublished, or DRAIN_TIMEOUT_S (the checker then counts what is left)."""
    start = time.monotonic()
    while outbox.backlog(admin)[0] and time.monotonic() - start < DRAIN_TIMEOUT_S:
        time.sleep(0.2)  # polling the outbox, bounded by the deadline
    return time.monotonic() - start


def start_targets(stack: ExitStack, url: str, admin: Any, workdir: Path, out: Path) -> tuple[Targets, str]:
    """The proxies, the private Redis and nats-server, the running service and relay, all torn down by `stack`; and a token for the clients."""
    db_url = make_url(url)
    db_proxy = TcpProxy(db_url.host or "127.0.0.1", db_url.port or 3306)
    redis = RedisProcess(workdir)
    redis_proxy = TcpProxy("127.0.0.1", redis.port)
    for proxy in (db_proxy, redis_proxy):
        proxy.start()
        stack.callback(proxy.cut)
    secret = secrets.token_hex(32)
    env = {
        "ORDERS_GRPC_PROCESSES": "2",
        "ORDERS_AUTH": "jwt",
        "ORDERS_JWT_SECRET": secret,
        "ORDERS_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
        "ORDERS_REDIS_KEY_PREFIX": f"chaos-{secrets.token_hex(4)}:",
        # Far above what the clients send, and small enough for GCRA's arithmetic.
        "ORDERS_RATE_LIMIT_READ": "5000/s",
        "ORDERS_RATE_LIMIT_WRITE": "5000/s",
        "ORDERS_SHUTDOWN_GRACE_S": "2",
        # Short database waits: a call stuck behind a cut link fails, and is retried, within the clients' retry budget.
        "ORDERS_DB_POOL_TIMEOUT_S": "3",
        "ORDERS_DB_LOCK_WAIT_TIMEOUT_S": "2",
        # A slow-http-clients fault that holds its connections past this sees them closed by the service.
        "ORDERS_HTTP_HEADER_TIMEOUT_S": "5",
        "ORDERS_LOG_LEVEL": "WARNING",
    }
    service_url = db_url.set(port=db_proxy.port).render_as_string(hide_password=False)
    service = Service(service_url, env, out / "service.log")
    nats = NatsProcess(workdir / "nats")
    stack.callback(nats.stop)
    relay = Supervised([sys.executable, "-m", "service.runtime.cli", "relay"], service_env(service_url, service.port, service.http_port, {
        "ORDERS_NATS_URL": nats.url,
        "ORDERS_EVENTS_STREAM": STREAM,
        "ORDERS_EVENTS_SUBJECT_PREFIX": SUBJECT_PREFIX,
        "ORDERS_EVENTS_FORMAT": "protobuf",  # what chaos/stream.py decodes
        # A killed relay's partitions pass to its successor once its leases lapse: soon, for the drain.
        "ORDERS_RELAY_LEASE_S": "3",
        "ORDERS_LOG_LEVEL": "WARNING",
    }), out / "relay.log")
    targets = Targets(service, db_proxy, redis_proxy, redis, workdir, admin, db_url.database or "", relay, nats)
    stack.callback(lambda: targets.redis.stop())  # the nemesis may have replaced the server
    for process in (service, relay):
        process.start()
        stack.callback(process.stop)
    service.wait_serving()
    return targets, tokens.mint(secret, "chaos", _ROLES, ttl_s=24 * 3600)


def _drive(cfg: Config, targets: Targets, token: str, shared: Shared, writer: history.HistoryWriter, nemesis: Nemesis) -> None:
    stop_clients, stop_nemesis = threading.Event(), threading.Event()
    clients = []
    for i in range(cfg.clients):
        transport: Transport = GrpcTransport(targets.service.target, token) if i % 2 == 0 else RestTransport(targets.service.base_url, token)
        clients.append(threading.Thread(target=Client(i, transport, shared, writer, cfg.seed).run, args=(stop_clients,), daemon=True))
    nemesis_thread = threading.Thread(target=nemesis.run, args=(stop_nemesis,), daemon=True)
    for t in clients + [nemesis_thread]:
        t.start()
    stop_nemesis.wait(cfg.duration_s)  # the run's length
    stop_nemesis.set()
    nemesis_thread.join()  # the fault in progress heals before the thread returns
    targets.service.wait_serving()
    stop_clients.set()
    deadline = time.monotonic() + 120
    for t in clients:
        t.join(max(0.0, deadline - time.monotonic()))
