"""Counts every RPC by method and status code, times it, and tracks how many are in flight."""

from __future__ import annotations

import functools
import time
from typing import Any

import grpc

from service import metrics
from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor
from service.grpc.interceptors.error_boundary import observed


class MetricsInterceptor(UnaryInterceptor):
    def __init__(self) -> None:
        # Each labelled child, looked up once: labels() validates, builds a key and takes a lock per call.
        self._count = functools.cache(lambda method, code: metrics.RPCS.labels(method, code.name))
        self._duration = functools.cache(metrics.RPC_SECONDS.labels)

    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        started = time.perf_counter()

        def finish(code: grpc.StatusCode) -> None:
            self._count(method, code).inc()
            self._duration(method).observe(time.perf_counter() - started)

        metrics.IN_FLIGHT.inc()
        try:
            return observed(proceed, request, context, finish)
        finally:
            metrics.IN_FLIGHT.dec()
