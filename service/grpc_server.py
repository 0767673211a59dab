"""Builds and runs the gRPC server: servicers, interceptors (in order), health and reflection."""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import message_factory
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Engine, event

from service import auth_setup, bootstrap, metrics, paging, redis_guard, request_checks, tls
from service.auth_throttle import FailureThrottle
from service._gen.erp.orders.v1 import customer_pb2_grpc, events_pb2_grpc, order_pb2_grpc, product_pb2_grpc
from service.contract import SERVICES
from service.handlers.group_commit import Gate, OrderPlacer
from service.idempotency_store import IdempotencyStore, MemoryStore, RedisStore
from service.interceptors.access_log import AccessLogInterceptor
from service.interceptors.auth import AuthInterceptor
from service.interceptors.chain import Chain
from service.interceptors.error_boundary import DomainErrors, ErrorBoundary
from service.interceptors.idempotency import IdempotencyInterceptor
from service.interceptors.rpc_metrics import MetricsInterceptor
from service.interceptors.ratelimit import RateLimitInterceptor
from service.interceptors.streams import StreamLimit
from service.interceptors.validation import ValidationInterceptor
from service.rate_limiter import Limiter, MemoryLimiter, RedisLimiter
from service.readiness import ReadinessProbe
from service.redis_guard import RedisGuard
from service.servicers.customers import CustomerServicer
from service.servicers.events import OrderEventServicer
from service.watch import Feed
from service.servicers.orders import OrderServicer
from service.servicers.products import ProductServicer
from service.settings import Settings
from storage.engine import make_engine

log = logging.getLogger(__name__)

SERVICE_NAMES = tuple(s.full_name for s in SERVICES)
_RPCS = [(f"/{s.full_name}/{m.name}", m) for s in SERVICES for m in s.methods]
RESPONSES = {name: message_factory.GetMessageClass(m.output_type) for name, m in _RPCS}


@dataclass
class Running:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    readiness: ReadinessProbe
    engine: Engine
    redis: RedisGuard | None
    local_target: str  # a private unix socket of this process, for its own gateway
    place_order: OrderPlacer  # CreateOrder's group commit (its combiner, for tests)
    feed: Feed  # WatchOrderEvents' outbox reader


def interceptors(settings: Settings, guard: RedisGuard | None) -> Chain:
    """The chain, outermost first. The error boundary encloses every other step, so nothing escapes as
    UNKNOWN; validation runs before idempotency, so bad input never holds a key."""
    if guard is not None:
        limiter: Limiter = RedisLimiter(guard, settings.redis_key_prefix)
        store: IdempotencyStore = RedisStore(guard, settings.redis_key_prefix)
    else:
        limiter, store = MemoryLimiter(), MemoryStore()
    return Chain([
        ErrorBoundary(),
        MetricsInterceptor(),
        AccessLogInterceptor(),
        AuthInterceptor(auth_setup.verifier(settings), FailureThrottle(limiter, settings.auth_failure_rate)),
        RateLimitInterceptor(limiter, settings.read_rate, settings.write_rate),
        ValidationInterceptor(),
        IdempotencyInterceptor(store, RESPONSES, settings.idempotency_lease_s, settings.idempotency_ttl_s),
        DomainErrors(),
    ])


def build_server(
    settings: Settings, engine: Engine | None = None, gate: Gate | None = None, socket_dir: Path | None = None
) -> Running:
    """Creates and binds (but does not start) the server. Port 0 binds a free port.

    `gate` is a test hook of the CreateOrder combiner (service/combiner.py). `socket_dir` holds the
    private socket (a new temporary directory by default); it is removed when the server stops.
    """
    engine = engine or bootstrap.engine(settings)
    guard = redis_guard.connect(settings.redis_url) if settings.redis_url else None
    units = bootstrap.units_of_work(settings, engine)
    run = bootstrap.runner(settings, units)
    place = OrderPlacer(run, units, settings.batch_max_orders, settings.batch_max_lines, settings.batch_writers, gate)
    # Counted on checkout and checkin, not read from the pool at scrape time: with several workers a
    # scrape reads every worker's values from files, and a function would run in one process only.
    for name, count in (("checkout", _checked_out), ("checkin", _checked_in)):
        if not event.contains(engine, name, count):
            event.listen(engine, name, count)
    server = grpc.server(
        ThreadPoolExecutor(settings.grpc_workers, thread_name_prefix="rpc"),
        interceptors=[StreamLimit(settings.open_streams_max), interceptors(settings, guard)],
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # Several worker processes bind the same port; the kernel spreads connections across them.
            ("grpc.so_reuseport", 1 if settings.grpc_processes > 1 else 0),
        ],
        # Beyond this, calls are refused with RESOURCE_EXHAUSTED at once instead of queueing without bound.
        maximum_concurrent_rpcs=settings.grpc_max_concurrent_rpcs,
    )
    pager = paging.Pager(settings.max_message_bytes)  # list pages stay within what the server may send
    customer_pb2_grpc.add_CustomerServiceServicer_to_server(CustomerServicer(run, pager), server)
    product_pb2_grpc.add_ProductServiceServicer_to_server(ProductServicer(run, settings.currency, pager), server)
    order_pb2_grpc.add_OrderServiceServicer_to_server(OrderServicer(run, place, settings.currency, pager), server)
    feed = Feed(engine, settings.watch_poll_interval_s, settings.watch_gap_grace_s, settings.watch_queue_size)
    events_pb2_grpc.add_OrderEventServiceServicer_to_server(
        OrderEventServicer(feed, settings.outbox_retention_s, settings.watch_max_streams), server
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = f"{settings.grpc_host}:{settings.grpc_port}"
    credentials = tls.server_credentials(settings)
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    # This process's gateway calls this process's server through a socket only it can reach: with
    # several processes on one port, the shared port could hand all its calls to another process.
    local_target = f"unix:{(socket_dir or Path(tempfile.mkdtemp(prefix='erp-orders-'))) / 'grpc.sock'}"
    server.add_insecure_port(local_target)
    request_checks.warm_up(message_factory.GetMessageClass(m.input_type)() for _, m in _RPCS)
    # Its own connection: under load the request pool may be busy, and that must not read as "down".
    probe_engine = make_engine(
        engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0, pool_timeout=5,
        lock_wait_timeout_s=settings.db_lock_wait_timeout_s,
    )
    readiness = ReadinessProbe(probe_engine, health_servicer, SERVICE_NAMES, settings.readiness_interval_s, settings.grpc_processes)
    return Running(server, port, health_servicer, readiness, engine, guard, local_target, place, feed)


def _checked_out(*_: object) -> None:
    metrics.DB_POOL_IN_USE.inc()


def _checked_in(*_: object) -> None:
    metrics.DB_POOL_IN_USE.dec()


def start(running: Running) -> None:
    running.server.start()
    running.readiness.start()


def not_ready(running: Running) -> None:
    """Readiness goes NOT_SERVING for good: the first step of a shutdown."""
    running.readiness.stop()
    running.health.enter_graceful_shutdown()


def stop(running: Running, grace: float) -> None:
    """Readiness goes NOT_SERVING first, then new calls are refused and in-flight calls get `grace` seconds."""
    not_ready(running)
    running.server.stop(grace).wait()  # open watches are cancelled at the end of the grace
    running.feed.stop()
    running.engine.dispose()
    running.readiness.dispose()
    shutil.rmtree(Path(running.local_target.removeprefix("unix:")).parent, ignore_errors=True)
    if running.redis is not None:
        running.redis.close()


def serve(settings: Settings) -> None:
    """Serves until SIGTERM or SIGINT; with grpc_processes > 1, through that many worker processes."""
    if settings.grpc_processes > 1:
        from service.workers import supervise

        if not settings.redis_url:
            log.warning("ORDERS_GRPC_PROCESSES > 1 without ORDERS_REDIS_URL: each process keeps its own rate limits and "
                        "idempotency records (the database still keeps creates exactly-once)")
        supervise(settings)
    else:
        serve_one(settings)


def serve_one(settings: Settings, done: threading.Event | None = None, socket_dir: Path | None = None) -> None:
    """gRPC, and the REST gateway on its own thread calling it over a private socket (in `socket_dir`),
    until `done` is set (by default by SIGTERM or SIGINT)."""
    from service.gateway import http_server as rest  # imported here: the gateway imports this module

    if done is None:
        # Handlers first: a SIGTERM that arrives while the server is still starting must end in
        # a graceful stop, not in the default kill.
        done = until_signalled()
    running = build_server(settings, socket_dir=socket_dir)
    start(running)
    log.info("gRPC listening on %s:%d", settings.grpc_host, running.port)
    gateway = rest.start(settings, running.local_target, local=True)
    relay_stop = threading.Event()
    relay: threading.Thread | None = None
    if settings.relay_in_serve:
        from service.relay import Relay

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


def until_signalled() -> threading.Event:
    """An event that SIGTERM and SIGINT set."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    return done
