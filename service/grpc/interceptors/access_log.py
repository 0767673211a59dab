"""One JSON log line per call (health probes only when asked), and the response headers (the request id first)."""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc
from grpc_health.v1 import health

from service.grpc import context as ctx
from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor
from service.grpc.interceptors.error_boundary import observed

log = logging.getLogger("erp_orders.access")
# Health checks: an orchestrator's probes and every /readyz, a line every few seconds that says nothing.
_PROBES = f"/{health.SERVICE_NAME}/"


class AccessLogInterceptor(UnaryInterceptor):
    def __init__(self, log_probes: bool = False) -> None:
        self._log_probes = log_probes

    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        call = ctx.call.get()
        assert call is not None, "the error boundary outside this step sets the call"
        started = time.perf_counter()

        def finish(code: grpc.StatusCode) -> None:
            # The request id goes back to the client, generated or not, so a support ticket can name it;
            # unless the client has gone (deadline, cancel): grpc raises on a finished call, and the
            # late call must still be logged rather than reported as an unhandled error.
            if context.is_active():
                context.send_initial_metadata((("x-request-id", call.request_id), *call.response_metadata))
            if method.startswith(_PROBES) and not self._log_probes:
                return
            # No request bodies, no tokens: only what an on-call engineer needs to find the call.
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            log.info("rpc", extra={"rpc": {"method": method, "code": code.name, "duration_ms": duration_ms, **call.log_fields()}})

        return observed(proceed, request, context, finish)
