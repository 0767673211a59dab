"""Who is calling and which request this is, carried from interceptors to servicers."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

import grpc

from service.domain.model import Caller

ANONYMOUS = "anonymous"

# Set by the authentication interceptor for the duration of one call (same thread as the servicer).
principal: ContextVar[str] = ContextVar("principal", default=ANONYMOUS)


def request_id(context: grpc.ServicerContext) -> str:
    """The client's x-request-id, or a new one."""
    for key, value in context.invocation_metadata():
        if key == "x-request-id" and value:
            return str(value)[:128]
    return uuid.uuid4().hex


def caller(context: grpc.ServicerContext) -> Caller:
    return Caller(principal.get(), request_id(context))
