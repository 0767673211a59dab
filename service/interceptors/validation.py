"""Rejects requests that break their buf.validate rules before any other work is done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from service import status
from service.domain.errors import InvalidArgument
from service.interceptors._unary import Behaviour, wrap
from service.validation import validate


class ValidationInterceptor(grpc.ServerInterceptor):
    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        def around(behaviour: Behaviour) -> Behaviour:
            def checked(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    validate(request)
                except InvalidArgument as error:
                    context.abort_with_status(status.to_status(error))
                return behaviour(request, context)

            return checked

        return wrap(continuation(details), around)
