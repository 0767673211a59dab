"""Counts every RPC by method and status code, times it, and tracks how many are in flight."""

from __future__ import annotations

import time
from typing import Any

import grpc

from service import metrics
from service.interceptors._unary import Behaviour, UnaryInterceptor


class MetricsInterceptor(UnaryInterceptor):
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        started = time.perf_counter()
        metrics.IN_FLIGHT.inc()
        try:
            return proceed(request, context)
        finally:
            metrics.IN_FLIGHT.dec()
            code = context.code() or grpc.StatusCode.OK  # type: ignore[attr-defined]
            metrics.RPCS.labels(method, code.name).inc()
            metrics.RPC_SECONDS.labels(method).observe(time.perf_counter() - started)
