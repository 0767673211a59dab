"""Builds and runs the gRPC server: servicers, interceptors (in order), health and reflection."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Engine

from service import validation
from service._gen.erp.orders.v1 import (
    customer_pb2,
    customer_pb2_grpc,
    order_pb2,
    order_pb2_grpc,
    product_pb2,
    product_pb2_grpc,
)
from service.handlers.retry import RetryPolicy
from service.handlers.runner import Runner
from service.interceptors.errors import ErrorInterceptor
from service.interceptors.validation import ValidationInterceptor
from service.servicers.customers import CustomerServicer
from service.servicers.orders import OrderServicer
from service.servicers.products import ProductServicer
from service.settings import Settings
from storage.engine import make_engine
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

FILES: tuple[FileDescriptor, ...] = (customer_pb2.DESCRIPTOR, product_pb2.DESCRIPTOR, order_pb2.DESCRIPTOR)
SERVICE_NAMES = tuple(s.full_name for f in FILES for s in f.services_by_name.values())


@dataclass
class Running:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    engine: Engine


def interceptors() -> list[grpc.ServerInterceptor]:
    """The chain, outermost first."""
    return [ValidationInterceptor(), ErrorInterceptor()]


def build_server(settings: Settings, engine: Engine | None = None) -> Running:
    """Creates and binds (but does not start) the server. Port 0 binds a free port."""
    engine = engine or make_engine(
        settings.database_url, settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout_s
    )
    run = Runner(lambda: SqlUnitOfWork(engine), RetryPolicy(settings.retry_attempts, settings.retry_base_delay_ms / 1000))
    server = grpc.server(
        ThreadPoolExecutor(settings.grpc_workers, thread_name_prefix="rpc"),
        interceptors=interceptors(),
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # Several worker processes bind the same port; the kernel spreads connections across them.
            ("grpc.so_reuseport", 1 if settings.grpc_processes > 1 else 0),
        ],
    )
    customer_pb2_grpc.add_CustomerServiceServicer_to_server(CustomerServicer(run), server)
    product_pb2_grpc.add_ProductServiceServicer_to_server(ProductServicer(run, settings.currency), server)
    order_pb2_grpc.add_OrderServiceServicer_to_server(OrderServicer(run, settings.currency), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    validation.warm_up(_request_samples(FILES))
    return Running(server, port, health_servicer, engine)


def start(running: Running) -> None:
    running.server.start()
    for name in ("", *SERVICE_NAMES):
        running.health.set(name, health_pb2.HealthCheckResponse.SERVING)


def stop(running: Running, grace: float) -> None:
    """Readiness goes NOT_SERVING first, then new calls are refused and in-flight calls get `grace` seconds."""
    running.health.enter_graceful_shutdown()
    running.server.stop(grace).wait()
    running.engine.dispose()


def serve(settings: Settings) -> None:
    """Serves until SIGTERM or SIGINT; with grpc_processes > 1, through that many worker processes."""
    if settings.grpc_processes > 1:
        from service.workers import supervise

        supervise(settings)
    else:
        serve_one(settings)


def serve_one(settings: Settings, done: threading.Event | None = None) -> None:
    """Serves until `done` is set; by default SIGTERM or SIGINT sets it."""
    if done is None:
        # Handlers first: a SIGTERM that arrives while the server is still starting must end in
        # a graceful stop, not in the default kill.
        done = until_signalled()
    running = build_server(settings)
    start(running)
    log.info("gRPC listening on %s:%d", settings.grpc_host, running.port)
    done.wait()
    log.info("shutting down; in-flight calls have %.0f s", settings.shutdown_grace_s)
    stop(running, settings.shutdown_grace_s)


def until_signalled() -> threading.Event:
    """An event that SIGTERM and SIGINT set."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    return done


def _request_samples(files: Iterable[FileDescriptor]) -> list[object]:
    return [
        message_factory.GetMessageClass(method.input_type)()
        for f in files
        for s in f.services_by_name.values()
        for method in s.methods
    ]
