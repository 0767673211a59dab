"""The outermost step of a call: its request id and trace id, one JSON log line, and the response headers."""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc

from service import context as ctx
from service.interceptors._unary import Behaviour, UnaryInterceptor

log = logging.getLogger("erp_orders.access")


class AccessLogInterceptor(UnaryInterceptor):
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        call = ctx.Call.of(context)
        token = ctx.call.set(call)
        started = time.perf_counter()
        try:
            response = proceed(request, context)
        except Exception:
            self._finish(call, method, context, started)
            raise
        finally:
            ctx.call.reset(token)
        self._finish(call, method, context, started)
        return response

    @staticmethod
    def _finish(call: ctx.Call, method: str, context: grpc.ServicerContext, started: float) -> None:
        # The request id goes back to the client, generated or not, so a support ticket can name it.
        context.send_initial_metadata([("x-request-id", call.request_id), *call.response_metadata])
        code = context.code() or grpc.StatusCode.OK  # type: ignore[attr-defined]
        # No request bodies, no tokens: only what an on-call engineer needs to find the call.
        log.info(
            "rpc",
            extra={
                "rpc": {
                    "method": method, "code": code.name, "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "principal": call.principal, "request_id": call.request_id, "trace_id": call.trace_id or None,
                }
            },
        )
