"""Rejects requests that break their buf.validate rules before any other work is done."""

from __future__ import annotations

from typing import Any

import grpc

from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor
from service.grpc.request_checks import validate


class ValidationInterceptor(UnaryInterceptor):
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        validate(request)
        return proceed(request, context)
