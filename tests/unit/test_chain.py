"""The interceptor chain: steps in declared order, only where they apply, composed once per method."""

from __future__ import annotations

from typing import Any, NamedTuple

import grpc

from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor
from service.grpc.interceptors.chain import Chain


class Details(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


class Tag(UnaryInterceptor):
    def __init__(self, name: str, only: str | None = None) -> None:
        self.name, self.only = name, only

    def applies(self, method: str) -> bool:
        return self.only is None or method == self.only

    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        return proceed(request + [self.name], context)


def _echo(request: list[str], _context: Any) -> list[str]:
    return request


def test_steps_run_outermost_first_and_only_on_the_methods_they_apply_to() -> None:
    built: list[str] = []

    def continuation(details: Details) -> grpc.RpcMethodHandler | None:
        built.append(details.method)
        return grpc.unary_unary_rpc_method_handler(_echo) if details.method.startswith("/known") else None

    chain = Chain([Tag("outer"), Tag("writes", only="/known/Write"), Tag("inner")])
    write = chain.intercept_service(continuation, Details("/known/Write"))
    read = chain.intercept_service(continuation, Details("/known/Read"))
    assert write is not None and read is not None
    assert write.unary_unary([], None) == ["outer", "writes", "inner"]
    assert read.unary_unary([], None) == ["outer", "inner"]

    # Composed once per method; unknown names are never kept, whatever a client sends.
    assert chain.intercept_service(continuation, Details("/known/Write")) is write
    assert chain.intercept_service(continuation, Details("/nope/X")) is None
    assert chain.intercept_service(continuation, Details("/nope/X")) is None
    assert built == ["/known/Write", "/known/Read", "/nope/X", "/nope/X"]
