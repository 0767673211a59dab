"""The base of every interceptor here: wraps unary-unary behaviour, which every RPC of this service is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import grpc

from service.grpc import status
from service.domain.errors import OrdersError

Behaviour = Callable[[Any, grpc.ServicerContext], Any]


class UnaryInterceptor(ABC):
    """Subclasses implement `handle`; an OrdersError it raises becomes the mapped status.

    Steps are composed by service.grpc.interceptors.chain.Chain, once per method.
    """

    def applies(self, method: str) -> bool:
        return True

    @abstractmethod
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any: ...

    def wrap(self, method: str, proceed: Behaviour) -> Behaviour:
        handle = self.handle
        return with_statuses(lambda request, context: handle(method, request, context, proceed))


def with_statuses(call: Behaviour) -> Behaviour:
    """`call`, with an error of ours that it raises ending the call with that error's status."""

    def mapped(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return call(request, context)
        except OrdersError as error:
            status.abort(context, error)

    return mapped
