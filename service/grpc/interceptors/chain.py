"""The interceptors as one gRPC server interceptor, composed once per method instead of on every call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from service.grpc.grpc_types import replace_handler
from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor, with_statuses
from service.grpc.methods import METHODS
from service.grpc.request_checks import tolerant

Continuation = Callable[[grpc.HandlerCallDetails], "grpc.RpcMethodHandler[Any, Any] | None"]


class Chain(grpc.ServerInterceptor):
    """Runs `steps` outermost first around every unary-unary method they apply to, and our response streams.

    gRPC calls each registered interceptor's `intercept_service` on every call, and each one
    wrapped the method's handler again: seven closures and handler copies per RPC. A method's
    handler and the steps that apply to it never change, so the composed handler is built on the
    method's first call and reused. Only methods the server knows are kept, so the cache is bounded
    by the service definitions, whatever names clients send.

    The request deserializer is replaced by one that never raises, so that bytes which do not
    parse reach the validation step as INVALID_ARGUMENT, through metrics and the access log.
    """

    def __init__(self, steps: Sequence[UnaryInterceptor]) -> None:
        self._steps = list(steps)
        self._composed: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = details.method
        composed = self._composed.get(method)
        if composed is not None:
            return composed
        handler = continuation(details)
        if handler is None:
            return handler
        # A response stream of ours (WatchOrderEvents) goes through the same steps: they run when
        # the call starts, before its first message, so a refused watch never starts streaming.
        kind = "unary_unary" if handler.unary_unary is not None else "unary_stream" if method in METHODS else None
        if kind is None:
            return handler  # unknown methods and other streams (health Watch, reflection) pass through
        # Innermost, the servicer's own errors become their statuses, so every step reads the call's real code.
        behaviour: Behaviour = with_statuses(getattr(handler, kind))
        for step in reversed(self._steps):
            if step.applies(method):
                behaviour = step.wrap(method, behaviour)
        composed = self._composed[method] = replace_handler(
            handler, **{kind: behaviour}, request_deserializer=tolerant(handler.request_deserializer, method)
        )
        return composed
