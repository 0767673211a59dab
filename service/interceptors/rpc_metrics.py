"""Counts every RPC by method and status code, times it, and tracks how many are in flight."""

from __future__ import annotations

import time
from typing import Any

import grpc

from service import metrics
from service.interceptors._unary import Behaviour, UnaryInterceptor
from service.interceptors.error_boundary import observed


class MetricsInterceptor(UnaryInterceptor):
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        started = time.perf_counter()

        def finish(code: grpc.StatusCode) -> None:
            metrics.RPCS.labels(method, code.name).inc()
            metrics.RPC_SECONDS.labels(method).observe(time.perf_counter() - started)

        metrics.IN_FLIGHT.inc()
        try:
            return observed(proceed, request, context, finish)
        finally:
            metrics.IN_FLIGHT.dec()
