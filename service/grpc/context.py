"""Who is calling and which request this is, carried from interceptors to servicers.

The interceptors and the servicer run on the same thread for a call, so context variables set
around `proceed()` are visible to the servicer and reset afterwards.
"""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

import grpc

from service import metrics
from service.domain.model import Caller, IdempotencyKey
from service.grpc.methods import ALL_ROLES
from service.grpc.tokens import Identity

ANONYMOUS = Identity("anonymous", ALL_ROLES)
# The HTTP client's address, which this process's own gateway adds to each call it makes on the
# client's behalf (trusted only on the private socket and in-process; a client cannot set it, see the gateway).
CLIENT_ADDRESS_KEY = "x-orders-client-address"
# The peer of a call made inside this process (service/grpc/dispatch.py), which only its own gateway makes.
IN_PROCESS_PEER = "in-process"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass
class Call:
    """What the interceptors know about a call, for logs and for the response headers."""

    request_id: str
    trace_id: str = ""
    principal: str = ANONYMOUS.principal
    response_metadata: list[tuple[str, str]] = field(default_factory=list)
    deadline: float | None = None  # time.monotonic() when the client stops waiting

    @classmethod
    def of(cls, context: grpc.ServicerContext) -> Call:
        traceparent = _TRACEPARENT.match(metadata_value(context, "traceparent") or "")
        remaining = context.time_remaining()
        deadline = time.monotonic() + remaining if remaining is not None else None
        return cls(request_id(context), traceparent[1] if traceparent else "", deadline=deadline)

    def log_fields(self) -> dict[str, str | None]:
        return {"principal": self.principal, "request_id": self.request_id, "trace_id": self.trace_id or None}


def deadline_passed() -> bool:
    """Whether the current call's client has given up: retrying its work would help nobody."""
    current = call.get()
    return current is not None and current.deadline is not None and time.monotonic() >= current.deadline


call: ContextVar[Call | None] = ContextVar("call", default=None)

identity: ContextVar[Identity] = ContextVar("identity", default=ANONYMOUS)
# Set by the idempotency interceptor when the call carries a key; creates store it with their row.
idempotency: ContextVar[IdempotencyKey | None] = ContextVar("idempotency", default=None)


def respond_with(context: grpc.ServicerContext, pairs: list[tuple[str, str]]) -> None:
    """Adds response metadata. Initial metadata can be sent only once, so the access-log
    interceptor collects it and sends it with the response."""
    current = call.get()
    if current is None:
        context.send_initial_metadata(tuple(pairs))
    else:
        current.response_metadata += pairs


# The initial metadata a response stream sends once it has started (the gateway's SSE waits for it).
STREAM_STARTED = "x-stream-started"


def mark_replayed(context: grpc.ServicerContext) -> None:
    """Tells the client this response repeats an earlier call's outcome instead of running again."""
    metrics.IDEMPOTENCY.labels("replay").inc()
    respond_with(context, [("idempotent-replayed", "true")])


def metadata_value(context: grpc.ServicerContext, key: str) -> str | None:
    for name, value in context.invocation_metadata():
        if name == key:
            return str(value)
    return None


def peer_address(context: grpc.ServicerContext) -> str:
    """Who is calling, without the port: ipv4:127.0.0.1:5555 → ipv4:127.0.0.1, ipv6:[::1]:5555 →
    ipv6:[::1]; for a call of this process's gateway, the HTTP client's address it forwarded."""
    peer: str = context.peer()
    if peer.startswith("unix:") or peer == IN_PROCESS_PEER:
        forwarded = metadata_value(context, CLIENT_ADDRESS_KEY)
        if forwarded:
            return forwarded
    return peer.rsplit(":", 1)[0]


def request_id(context: grpc.ServicerContext) -> str:
    """The client's x-request-id, or a new one."""
    return (metadata_value(context, "x-request-id") or uuid.uuid4().hex)[:128]


def caller(context: grpc.ServicerContext) -> Caller:
    current = call.get()
    return Caller(identity.get().principal, current.request_id if current else request_id(context))
