"""Wraps the behaviour of unary-unary handlers, which is every RPC of this service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, grpc.ServicerContext], Any]


def wrap(handler: grpc.RpcMethodHandler | None, around: Callable[[Behaviour], Behaviour]) -> grpc.RpcMethodHandler | None:
    if handler is None or handler.unary_unary is None:
        return handler
    return handler._replace(unary_unary=around(handler.unary_unary))  # type: ignore[attr-defined]
