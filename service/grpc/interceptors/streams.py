"""Bounds the streams that need no token (reflection, health Watch): each holds a handler thread while open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from service.grpc import status
from service.grpc.errors import TooManyStreams
from service.grpc.grpc_types import replace_handler
from service.grpc.methods import METHODS
from service.grpc.stream_slots import Slots

Continuation = Callable[[grpc.HandlerCallDetails], "grpc.RpcMethodHandler[Any, Any] | None"]


class StreamLimit(grpc.ServerInterceptor):
    """At most `limit` such streams run at once; one more is refused at once with RESOURCE_EXHAUSTED.

    The sync server runs a stream on a pool thread until it ends, so idle streams would otherwise
    take every thread and starve authenticated calls and readiness. Refusing (not queueing) keeps
    the cost of a refused stream to one short-lived thread, whatever number of them arrive.
    """

    def __init__(self, limit: int) -> None:
        self._slots = Slots(limit)

    def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(details)
        method: str = details.method
        if handler is None or method in METHODS:
            return handler
        if handler.stream_stream is not None:
            return replace_handler(handler, stream_stream=self._bounded(handler.stream_stream))
        if handler.unary_stream is not None:
            return replace_handler(handler, unary_stream=self._bounded(handler.unary_stream))
        return handler

    def _bounded(self, behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def bounded(request: Any, context: grpc.ServicerContext) -> Any:
            if self._slots.take(context) is not None:
                status.abort(context, TooManyStreams())
            return behaviour(request, context)

        return bounded
