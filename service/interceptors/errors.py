"""The innermost interceptor: domain errors become statuses by the table in service.status, anything else INTERNAL."""

from __future__ import annotations

import logging
from typing import Any

import grpc

from service import status
from service.domain.errors import OrdersError
from service.interceptors._unary import Behaviour, UnaryInterceptor

log = logging.getLogger(__name__)


class ErrorInterceptor(UnaryInterceptor):
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        try:
            return proceed(request, context)
        except OrdersError:
            raise  # mapped by the base class
        except Exception:
            if context.code() is not None:  # type: ignore[attr-defined]
                raise  # an abort() from further in: its status is already set
            # Never leak the text of an unexpected error to the client; log it with the request.
            log.exception("unhandled error in %s", method)
            context.abort_with_status(status.INTERNAL)
