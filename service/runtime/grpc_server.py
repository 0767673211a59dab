"""Builds, starts and stops the gRPC server: servicers, interceptors (in order), health and reflection."""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import message_factory
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Engine

from service.runtime import auth_setup, bootstrap, tls
from service.grpc import paging, request_checks
from service.grpc.auth_throttle import FailureThrottle
from service._gen.erp.orders.v1 import customer_pb2_grpc, events_pb2_grpc, order_pb2_grpc, product_pb2_grpc
from service.grpc.contract import RESPONSES, RPCS, SERVICE_NAMES
from service.grpc.dispatch import Dispatcher, MethodHandlers
from service.usecases.group_commit import OrderPlacer
from service.grpc.interceptors.access_log import AccessLogInterceptor
from service.grpc.interceptors.auth import AuthInterceptor
from service.grpc.interceptors.chain import Chain
from service.grpc.interceptors.error_boundary import ErrorBoundary
from service.grpc.interceptors.idempotency import IdempotencyInterceptor
from service.grpc.interceptors.rpc_metrics import MetricsInterceptor
from service.grpc.interceptors.ratelimit import RateLimitInterceptor
from service.grpc.interceptors.streams import StreamLimit
from service.grpc.interceptors.validation import ValidationInterceptor
from service.runtime.readiness import ReadinessProbe
from service.events.resume_tokens import Signer
from service.redis.guard import RedisGuard
from service.grpc.servicers.customers import CustomerServicer
from service.events.servicer import OrderEventServicer
from service.events.watch import Feed
from service.grpc.servicers.orders import OrderServicer
from service.grpc.servicers.products import ProductServicer
from service.settings import Settings


@dataclass
class Running:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    readiness: ReadinessProbe
    engine: Engine
    redis: RedisGuard | None
    local_target: str  # a private unix socket of this process, for its own gateway
    feed: Feed  # WatchOrderEvents' outbox reader
    dispatcher: Dispatcher  # the same handlers, called in-process (this process's gateway)


def interceptors(settings: Settings, guard: RedisGuard | None) -> Chain:
    """The chain, outermost first. The error boundary encloses every other step, so nothing escapes as
    UNKNOWN; validation runs before idempotency, so bad input never holds a key."""
    limiter, store = bootstrap.limiter(settings, guard), bootstrap.idempotency_store(settings, guard)
    return Chain([
        ErrorBoundary(),
        MetricsInterceptor(),
        AccessLogInterceptor(settings.access_log_probes),
        AuthInterceptor(auth_setup.verifier(settings), FailureThrottle(limiter, settings.auth_failure_rate)),
        RateLimitInterceptor(limiter, settings.read_rate, settings.write_rate),
        ValidationInterceptor(),
        IdempotencyInterceptor(store, RESPONSES, settings.idempotency_lease_s, settings.idempotency_ttl_s),
    ])


def build_server(
    settings: Settings, engine: Engine | None = None, socket_dir: Path | None = None
) -> Running:
    """Creates and binds (but does not start) the server. Port 0 binds a free port.

    `socket_dir` holds the private socket (a new temporary directory by default); it is removed when the
    server stops.
    """
    engine = engine or bootstrap.engine(settings)
    guard = bootstrap.redis(settings)
    units = bootstrap.units_of_work(settings, engine)
    run = bootstrap.runner(settings, units)
    place = OrderPlacer(run, units, settings.batch_max_orders, settings.batch_max_lines, settings.batch_writers)
    bootstrap.count_pool(engine)
    executor = ThreadPoolExecutor(settings.grpc_workers, thread_name_prefix="rpc")
    server_interceptors = [StreamLimit(settings.open_streams_max), interceptors(settings, guard)]
    server = grpc.server(
        executor,
        interceptors=server_interceptors,
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
    ours = MethodHandlers(server)
    customer_pb2_grpc.add_CustomerServiceServicer_to_server(CustomerServicer(run, pager), ours)
    product_pb2_grpc.add_ProductServiceServicer_to_server(ProductServicer(run, settings.currency, pager), ours)
    order_pb2_grpc.add_OrderServiceServicer_to_server(OrderServicer(run, place, settings.currency, pager, settings.sync_settle_s), ours)
    feed = Feed(engine, settings.watch_poll_interval_s, settings.watch_gap_grace_s, settings.watch_queue_size)
    events_pb2_grpc.add_OrderEventServiceServicer_to_server(
        OrderEventServicer(
            feed, Signer(auth_setup.resume_token_secrets(settings)), settings.outbox_retention_s,
            (settings.watch_max_streams, settings.watch_max_per_principal),
        ),
        ours,
    )
    dispatcher = Dispatcher(ours, server_interceptors, executor, settings.grpc_max_concurrent_rpcs)
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
    request_checks.warm_up(message_factory.GetMessageClass(m.input_type)() for _, m in RPCS)
    readiness = ReadinessProbe(bootstrap.probe_engine(settings, engine), health_servicer, SERVICE_NAMES, settings.readiness_interval_s, settings.grpc_processes)
    return Running(server, port, health_servicer, readiness, engine, guard, local_target, feed, dispatcher)


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
