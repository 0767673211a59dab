"""Calls this process's own unary methods without a network hop: the very handlers the gRPC server
runs, composed by the same server interceptors, on the server's thread pool and within the same
concurrency bound. Requests and replies stay protobuf messages.

The REST gateway of `serve` calls through here (service/rest/backends.py). What a client of the
gRPC server would see, it sees: the status, its details and the response metadata, and grpcio's own
refusals (unknown method, over the concurrent-call limit, the deadline passed) in grpcio's words.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, cast

import grpc

from service.grpc.in_process_context import InProcessContext, Metadata

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallOutcome:
    """How a call ended: `response` when `code` is OK."""

    code: grpc.StatusCode
    details: str
    response: Any = None
    initial_metadata: Metadata = ()
    trailing_metadata: Metadata = ()


# grpcio's own refusals, as its server and client word them.
UNIMPLEMENTED = CallOutcome(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
OVERLOADED = CallOutcome(grpc.StatusCode.RESOURCE_EXHAUSTED, "Concurrent RPC limit exceeded!")
DEADLINE_EXCEEDED = CallOutcome(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")


class MethodHandlers:
    """Stands in for the grpc.Server when servicers are added: passes them on, and keeps their method
    handlers by path (/package.Service/Method) for the Dispatcher."""

    def __init__(self, server: grpc.Server) -> None:
        self._server = server
        self.by_path: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]) -> None:
        self._server.add_registered_method_handlers(service, handlers)
        self.by_path.update((f"/{service}/{name}", handler) for name, handler in handlers.items())


@dataclass(frozen=True)
class _CallDetails(grpc.HandlerCallDetails):
    method: str
    invocation_metadata: Metadata


class Dispatcher:
    """At most `max_concurrent` calls of its own at once (ORDERS_GRPC_MAX_CONCURRENT_RPCS, counted
    apart from the gRPC server's calls, which grpcio counts inside); they share the server's
    `executor`, so ORDERS_GRPC_WORKERS bounds the threads running handlers, whoever called."""

    def __init__(
        self,
        handlers: MethodHandlers,
        interceptors: Sequence[grpc.ServerInterceptor],
        executor: Executor,
        max_concurrent: int | None,
    ) -> None:
        self._handlers = handlers.by_path
        self._interceptors = list(interceptors)
        self._executor = executor
        self._max_concurrent = max_concurrent
        self._active = 0
        self._lock = threading.Lock()

    def submit(self, method: str, request: Any, context: InProcessContext) -> Future[CallOutcome]:
        """Starts the call on the pool; refusals come back as an already finished future."""
        handler = self._resolve(_CallDetails(method, context.invocation_metadata()))
        if handler is None or handler.unary_unary is None:
            return _finished(UNIMPLEMENTED)
        with self._lock:
            if self._max_concurrent is not None and self._active >= self._max_concurrent:
                return _finished(OVERLOADED)
            self._active += 1
        # A fresh context per call, as grpcio gives each of its own: no context variable a step sets
        # can outlive its call on the shared pool thread.
        future = self._executor.submit(contextvars.Context().run, _run, method, handler, request, context)
        future.add_done_callback(self._completed)  # also when a queued call is cancelled
        return future

    def _resolve(self, details: grpc.HandlerCallDetails, at: int = 0) -> grpc.RpcMethodHandler[Any, Any] | None:
        # The server's interceptor pipeline: each one gets the rest of the pipeline as its continuation.
        if at == len(self._interceptors):
            return self._handlers.get(details.method)
        return self._interceptors[at].intercept_service(lambda d: self._resolve(d, at + 1), details)

    def _completed(self, _: Future[CallOutcome]) -> None:
        with self._lock:
            self._active -= 1


def _run(method: str, handler: grpc.RpcMethodHandler[Any, Any], request: Any, context: InProcessContext) -> CallOutcome:
    if not context.is_active():
        return DEADLINE_EXCEEDED  # it waited for a thread past its deadline: grpcio never starts such a call
    response = None
    try:
        assert handler.unary_unary is not None, "submit() refuses the others"
        # The in-process context stands in for grpcio's ServicerContext: the handlers use only what it has.
        response = handler.unary_unary(request, cast(grpc.ServicerContext, context))
    except Exception as error:  # noqa: BLE001 - every failure becomes the call's status, as in grpcio
        if context.code() is None:
            log.exception("in-process call of %s failed", method)
            context.set_code(grpc.StatusCode.UNKNOWN)
            context.set_details(f"Exception calling application: {error}")
    code = context.code() or grpc.StatusCode.OK
    return CallOutcome(code, context.details(), response if code == grpc.StatusCode.OK else None,
                   context.initial_metadata(), context.trailing_metadata() or ())


def _finished(outcome: CallOutcome) -> Future[CallOutcome]:
    future: Future[CallOutcome] = Future()
    future.set_result(outcome)
    return future
