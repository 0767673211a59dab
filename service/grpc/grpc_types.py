"""What grpcio does at runtime and its type stubs (types-grpcio) do not declare, typed in one place.

grpcio's ServicerContext has had `code()` and `details()` since 1.38, and its method handlers are
named tuples; the stubs know neither, so the casts live here instead of `type: ignore`s at each use.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import grpc


class _StatusSoFar(Protocol):
    def code(self) -> grpc.StatusCode | None: ...
    def details(self) -> str | bytes | None: ...


def status_code(context: grpc.ServicerContext) -> grpc.StatusCode | None:
    """The code the call has been given so far (by an abort or set_code), None while it has none."""
    return cast(_StatusSoFar, context).code()


def status_details(context: grpc.ServicerContext) -> str:
    """The details the call has been given so far, "" when none (grpcio keeps them encoded)."""
    details = cast(_StatusSoFar, context).details() or ""
    return details.decode() if isinstance(details, bytes) else details


def replace_handler(handler: grpc.RpcMethodHandler[Any, Any], **changes: Any) -> grpc.RpcMethodHandler[Any, Any]:
    """A copy of a method handler (a named tuple in grpcio) with some of its fields replaced."""
    return cast("grpc.RpcMethodHandler[Any, Any]", cast(Any, handler)._replace(**changes))
