"""The base of every interceptor here: wraps unary-unary behaviour, which every RPC of this service is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import grpc

from service import status
from service.domain.errors import OrdersError

Behaviour = Callable[[Any, grpc.ServicerContext], Any]
Continuation = Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None]


class UnaryInterceptor(grpc.ServerInterceptor, ABC):
    """Subclasses implement `handle`; an OrdersError it raises becomes the mapped status."""

    def applies(self, method: str) -> bool:
        return True

    @abstractmethod
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any: ...

    def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        method: str = details.method  # type: ignore[attr-defined]
        if handler is None or handler.unary_unary is None or not self.applies(method):
            return handler
        proceed: Behaviour = handler.unary_unary

        def intercepted(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return self.handle(method, request, context, proceed)
            except OrdersError as error:
                context.abort_with_status(status.to_status(error))

        return handler._replace(unary_unary=intercepted)  # type: ignore[attr-defined]
