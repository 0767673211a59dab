"""Turns exceptions into gRPC statuses: domain errors by the table in service.status, anything else INTERNAL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc

from service import status
from service.domain.errors import OrdersError
from service.interceptors._unary import Behaviour, wrap

log = logging.getLogger(__name__)


class ErrorInterceptor(grpc.ServerInterceptor):
    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None], details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        def around(behaviour: Behaviour) -> Behaviour:
            def guarded(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return behaviour(request, context)
                except OrdersError as error:
                    context.abort_with_status(status.to_status(error))
                except Exception:
                    # abort() raises too; only real failures get here. Never leak their text.
                    if context.code() is not None:  # type: ignore[attr-defined]
                        raise
                    log.exception("unhandled error in %s", details.method)
                    context.abort_with_status(status.INTERNAL)

            return guarded

        return wrap(continuation(details), around)
