"""Who is calling and which request this is, carried from interceptors to servicers.

The interceptors and the servicer run on the same thread for a call, so context variables set
around `proceed()` are visible to the servicer and reset afterwards.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar

import grpc

from service.domain.model import Caller, IdempotencyKey
from service.methods import ALL_ROLES
from service.tokens import Identity

ANONYMOUS = Identity("anonymous", ALL_ROLES)

identity: ContextVar[Identity] = ContextVar("identity", default=ANONYMOUS)
# Set by the idempotency interceptor when the call carries a key; creates store it with their row.
idempotency: ContextVar[IdempotencyKey | None] = ContextVar("idempotency", default=None)


REPLAYED = (("idempotent-replayed", "true"),)


def mark_replayed(context: grpc.ServicerContext) -> None:
    """Tells the client this response repeats an earlier call's outcome instead of running again."""
    context.send_initial_metadata(REPLAYED)


def metadata_value(context: grpc.ServicerContext, key: str) -> str | None:
    for name, value in context.invocation_metadata():
        if name == key:
            return str(value)
    return None


def request_id(context: grpc.ServicerContext) -> str:
    """The client's x-request-id, or a new one."""
    return (metadata_value(context, "x-request-id") or uuid.uuid4().hex)[:128]


def caller(context: grpc.ServicerContext) -> Caller:
    return Caller(identity.get().principal, request_id(context))
