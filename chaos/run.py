"""One run: private servers and proxies, the service, K clients and the nemesis for a while, then heal, stop and check."""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.database import private_database, seed_catalogue
from chaos import elle, history, report
from chaos.checker import check
from chaos.dbstate import snapshot
from chaos.nemesis import Nemesis, Targets
from chaos.proxy import TcpProxy
from chaos.redis_server import RedisProcess
from chaos.service import Service
from chaos.transports import GrpcTransport, RestTransport, Transport
from chaos.workload import Client, Shared
from service import tokens

CUSTOMERS, PRODUCTS, STOCK = 3, 6, 20  # few products, little stock: contention and refusals are frequent
_ROLES = ["catalog.admin", "orders.fulfil", "orders.read", "orders.write"]


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
        catalogue = seed_catalogue(admin, CUSTOMERS, PRODUCTS, STOCK)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-redis-")))
        targets, token = start_targets(stack, url, admin, workdir, cfg.out)
        writer = history.HistoryWriter(cfg.out / "history.jsonl")
        stack.callback(writer.close)
        shared = Shared([str(c) for c in catalogue.customers], [str(p) for p in catalogue.products])
        nemesis = Nemesis(targets, cfg.faults, cfg.interval_s, cfg.seed, writer.nemesis)
        _drive(cfg, targets, token, shared, writer, nemesis)
        targets.service.stop()
        db = snapshot(admin)
        ops = history.read(writer.path)
        verdicts = check(ops, db)
        keys = [o.key for o in db.orders.values() if o.key]
        elle.export(writer.path, keys, cfg.out)
        result = report.summary(ops, nemesis.counts, verdicts, targets.service.restarts)
        result |= {"seed": cfg.seed, "duration_s": cfg.duration_s, "clients": cfg.clients, "history": str(writer.path)}
        (cfg.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
        return result


def start_targets(stack: ExitStack, url: str, admin: Any, workdir: Path, out: Path) -> tuple[Targets, str]:
    """The proxies, the private Redis and the running service, all torn down by `stack`; and a token for the clients."""
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
        # A worker killed while it held a key keeps it for the lease: shorter timeouts allow a 30 s
        # lease (the settings refuse one shorter than the longest call), within the clients' retry budget.
        "ORDERS_DB_POOL_TIMEOUT_S": "3",
        "ORDERS_DB_LOCK_WAIT_TIMEOUT_S": "2",
        "ORDERS_IDEMPOTENCY_LEASE_S": "30",
        "ORDERS_LOG_LEVEL": "WARNING",
    }
    service_url = db_url.set(port=db_proxy.port).render_as_string(hide_password=False)
    service = Service(service_url, env, out / "service.log")
    targets = Targets(service, db_proxy, redis_proxy, redis, workdir, admin, db_url.database or "")
    stack.callback(lambda: targets.redis.stop())  # the nemesis may have replaced the server
    service.start()
    stack.callback(service.stop)
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
