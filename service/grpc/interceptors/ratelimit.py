"""Limits calls per principal (per peer address when anonymous) and per method class: reads, writes."""

from __future__ import annotations

from typing import Any

import grpc

from service.grpc import context as ctx
from service import metrics
from service.grpc.errors import RateLimited
from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor
from service.grpc.methods import METHODS
from service.redis.rate_limiter import Limiter, Rate


class RateLimitInterceptor(UnaryInterceptor):
    def __init__(self, limiter: Limiter, read: Rate | None, write: Rate | None) -> None:
        self._limiter = limiter
        self._rates = {"read": read, "write": write}

    def applies(self, method: str) -> bool:
        return method in METHODS

    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        kind = "write" if METHODS[method].writes else "read"
        rate = self._rates[kind]
        if rate is not None:
            wait = self._limiter.acquire(f"rl:{kind}:{self._subject(context)}", rate)
            if wait > 0:
                metrics.RATE_LIMITED.labels(kind).inc()
                raise RateLimited(kind, wait)
        return proceed(request, context)

    @staticmethod
    def _subject(context: grpc.ServicerContext) -> str:
        identity = ctx.identity.get()
        if identity is not ctx.ANONYMOUS:
            return "sub:" + identity.principal
        return "peer:" + ctx.peer_address(context)
