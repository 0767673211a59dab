"""Runs the gateway under uvicorn on its own thread and event loop, next to the gRPC server or alone (service/runtime/lifecycle.py)."""

from __future__ import annotations

import logging
import math
import resource
import socket
import threading
from dataclasses import dataclass

import uvicorn

from service.runtime import logs, tls
from service.grpc.contract import FILES
from service.rest import docs, openapi, protocol, routes
from service.grpc.dispatch import Dispatcher
from service.rest.app import Gateway
from service.rest.backends import Backend, ChannelBackend, InProcessBackend
from service.settings import Settings

log = logging.getLogger(__name__)

_STARTUP_TIMEOUT_S = 30.0


class _Server(uvicorn.Server):
    """uvicorn's server with an event for "listening", so starters wait on a condition, not a guess."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list | None = None) -> None:  # type: ignore[type-arg]
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


@dataclass
class RunningGateway:
    server: _Server
    thread: threading.Thread
    port: int


def channel(settings: Settings, target: str, local: bool = False) -> ChannelBackend:
    """Calls over gRPC to `target` (HOST:PORT); `local`: the private socket of this process's own
    server, which needs no TLS."""
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
    ]
    options += [] if local else tls.channel_options(settings)
    return ChannelBackend(target, options, None if local else tls.channel_credentials(settings))


def in_process(settings: Settings, dispatcher: Dispatcher, local_target: str) -> InProcessBackend:
    """Calls this process's own handlers through `dispatcher`; the stream and readiness go to its
    server on the private socket `local_target`."""
    return InProcessBackend(dispatcher, channel(settings, local_target, local=True))


def build(settings: Settings, backend: Backend) -> Gateway:
    """The app for every annotated RPC of our services, calling `backend`."""
    table = routes.build(s for f in FILES for s in f.services_by_name.values())
    documents = {**openapi.documents(table), **docs.documents()}
    # No body above the gRPC message limit either: in-process calls never pass gRPC's own size check.
    # No body of ours holds packed repeated numbers (the one encoding whose protobuf can outgrow its
    # JSON; ListOrders' statuses come in the query, at most 6), so a body within it is a message within it.
    max_body = min(settings.http_max_body_bytes, settings.max_message_bytes)
    return Gateway(table, backend, documents, max_body, settings.http_timeout_s)


def start(settings: Settings, backend: Backend) -> RunningGateway:
    """Starts serving on settings.http_host:http_port (0: a free port) and returns once it listens."""
    config = _config(settings, backend)
    # A flood of failed accepts or broken connections must not flood the log (asyncio logs each one).
    logs.rate_limit(("asyncio", "uvicorn.error"), settings.http_error_log_lines, settings.http_error_log_interval_s)
    sock = listening_socket(settings)
    server = _Server(config)
    thread = threading.Thread(target=lambda: server.run(sockets=[sock]), name="gateway", daemon=True)
    thread.start()
    if not server.ready.wait(_STARTUP_TIMEOUT_S) or not server.started:
        server.should_exit = True
        raise RuntimeError("the REST gateway did not start; see the log")
    port: int = sock.getsockname()[1]
    scheme = "https" if tls.enabled(settings) else "http"
    log.info("REST gateway on %s:%d calling %s (%s)", settings.http_host, port, backend.target, scheme)
    return RunningGateway(server, thread, port)


def stop(running: RunningGateway) -> None:
    """Stops accepting, lets in-flight requests finish, and closes the channel."""
    running.server.should_exit = True
    running.thread.join()


def _config(settings: Settings, backend: Backend) -> uvicorn.Config:
    # httptools and a bare ASGI app keep the per-request cost low; logging stays the process's own.
    limits = protocol.Limits(settings.http_header_timeout_s, settings.http_body_timeout_s, max_connections(settings))
    return uvicorn.Config(
        build(settings, backend),
        host=settings.http_host,
        port=settings.http_port,
        http=protocol.limited(limits),
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_keep_alive=settings.http_keep_alive_s,  # type: ignore[arg-type]  # uvicorn uses it as call_later's delay
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        **tls.uvicorn_options(settings),
    )


def max_connections(settings: Settings) -> int:
    """ORDERS_HTTP_MAX_CONNECTIONS, but at most half the process's file-descriptor limit: the other
    half stays for gRPC, the database pool, Redis, NATS and the files a process opens."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or settings.http_max_connections <= soft // 2:
        return settings.http_max_connections
    log.warning(
        "ORDERS_HTTP_MAX_CONNECTIONS=%d lowered to %d, half the file-descriptor limit (ulimit -n %d)",
        settings.http_max_connections, soft // 2, soft,
    )
    return soft // 2


def listening_socket(settings: Settings) -> socket.socket:
    """The gateway's listening socket, the one place its sockets are made (one process or several, TLS or not).

    Made with IPPROTO_TCP and TCP_NODELAY: asyncio turns TCP_NODELAY on only for accepted sockets
    whose proto is IPPROTO_TCP (uvicorn's own sockets have proto 0), and Linux copies it from the
    listener to each accepted socket. Without it a response's second segment waits for the client's
    delayed ACK: 44 ms on every request after the first of a keep-alive connection.
    With several worker processes each binds the same port (SO_REUSEPORT) and the kernel spreads connections.
    """
    reuse_port = settings.grpc_processes > 1
    if reuse_port and settings.http_port == 0:
        raise ValueError("ORDERS_GRPC_PROCESSES > 1 needs a fixed ORDERS_HTTP_PORT: each worker binds it")
    family = socket.AF_INET6 if ":" in settings.http_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((settings.http_host, settings.http_port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
