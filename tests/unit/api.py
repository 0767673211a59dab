"""The gRPC API in one process, without sockets: the real servicers behind the real interceptor chain,
over the in-memory fakes of the ports (tests/unit/fakes.py), served by grpc_testing.

`Api(tables).stubs(bearer)` gives the same `Stubs` the e2e tests use (tests/helpers.py): a call
returns its response, or raises an RpcError that `rich()` decodes, so a test reads as it would
against a real server. The idempotency store and the rate limiter are the in-memory ones; each
`Api` has its own. CreateOrder runs without the combiner (a batch cap of 1): calls come one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc_testing
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from service.runtime import bootstrap
from service.grpc import paging
from service._gen.erp.orders.v1 import (
    customer_pb2,
    customer_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    order_pb2,
    order_pb2_grpc,
    product_pb2,
    product_pb2_grpc,
)
from service.grpc.dispatch import MethodHandlers
from service.runtime.grpc_server import interceptors
from service.usecases.group_commit import OrderPlacer
from service.grpc.interceptors.chain import Chain
from service.grpc.servicers.customers import CustomerServicer
from service.events.servicer import OrderEventServicer
from service.grpc.servicers.orders import OrderServicer
from service.grpc.servicers.products import ProductServicer
from service.events.resume_tokens import Signer
from service.settings import Settings
from tests.helpers import TEST_SECRET, Stubs
from tests.unit.fakes import FakeUnitOfWork, Tables

PEER = "ipv4:10.1.2.3:50000"  # what grpcio reports for a TCP client
Metadata = tuple[tuple[str, str | bytes], ...]
SERVICES: tuple[ServiceDescriptor, ...] = tuple(
    module.DESCRIPTOR.services_by_name[name]
    for module, name in ((customer_pb2, "CustomerService"), (product_pb2, "ProductService"), (order_pb2, "OrderService"))
)
EVENTS = events_pb2.DESCRIPTOR.services_by_name["OrderEventService"]


def settings(**overrides: object) -> Settings:
    """As the e2e servers run (tests/conftest.py): HS256 with the test secret, no rate limits."""
    base: dict[str, Any] = {"jwt_secret": TEST_SECRET, "rate_limit_read": "off", "rate_limit_write": "off",
                            "rate_limit_auth_failures": "off"}
    return Settings(**{**base, **overrides})


class _Aborted(Exception):
    """What abort() raises, the status already kept on the context, as grpcio's own abort does."""


class _Context:
    """grpc_testing's servicer context with what grpcio's has and it lacks: peer(), abort_with_status(),
    code(), details() and trailing_metadata(), and an abort that keeps the trailing metadata (the
    status details) where grpc_testing's own drops it."""

    def __init__(self, testing: grpc.ServicerContext) -> None:
        self._testing = testing
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._trailing: Metadata | None = None

    def __getattr__(self, name: str) -> Any:  # invocation_metadata, time_remaining, is_active, send_initial_metadata…
        return getattr(self._testing, name)

    def peer(self) -> str:
        return PEER

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code
        self._testing.set_code(code)

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def set_details(self, details: str) -> None:
        self._details = details
        self._testing.set_details(details)

    def details(self) -> str:
        return self._details

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self._trailing = tuple(metadata)
        self._testing.set_trailing_metadata(self._trailing)

    def trailing_metadata(self) -> Metadata | None:
        return self._trailing

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.set_code(code)
        self.set_details(details)
        raise _Aborted()

    def abort_with_status(self, status: grpc.Status) -> None:
        self.set_trailing_metadata(status.trailing_metadata)  # type: ignore[attr-defined]
        self.abort(status.code, status.details)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _CallDetails(grpc.HandlerCallDetails):
    method: str
    invocation_metadata: Metadata


class _Intercepted:
    """Stands for one service's servicer in grpc_testing: each method is the servicer's, composed by
    the chain as the server composes it, run with grpc_testing's context."""

    def __init__(self, service: str, chain: Chain, handlers: MethodHandlers) -> None:
        self._service, self._chain, self._handlers = service, chain, handlers

    def __getattr__(self, name: str) -> Callable[[Any, grpc.ServicerContext], Any]:
        path = f"/{self._service}/{name}"

        def method(request: Any, testing: grpc.ServicerContext) -> Any:
            details = _CallDetails(path, tuple(testing.invocation_metadata()))
            handler = self._chain.intercept_service(lambda d: self._handlers.by_path.get(d.method), details)
            assert handler is not None, path
            behaviour = handler.unary_unary or handler.unary_stream
            assert behaviour is not None, path
            try:
                return behaviour(request, _Context(testing))  # type: ignore[arg-type]
            except _Aborted:
                # grpc_testing ends the call with the code, details and trailing metadata set
                return None if handler.unary_unary else iter(())
        return method


class _NoFeed:
    """The outbox feed of WatchOrderEvents: not here. Watches that start are e2e tests (tests/e2e/test_watch.py)."""

    def subscribe(self, flt: object) -> None:
        raise AssertionError("the unit API has no outbox feed: only refused watches can be tested here")


class _NoServer:
    def add_generic_rpc_handlers(self, handlers: object) -> None: ...
    def add_registered_method_handlers(self, service: str, handlers: object) -> None: ...


class Ended(grpc.RpcError):
    """How a call ended, as a grpcio client sees it: what `with_call` returns with the response, and
    what a call raises when its code is not OK."""

    def __init__(self, code: grpc.StatusCode, details: str, initial: Metadata, trailing: Metadata) -> None:
        self._code, self._details, self._initial, self._trailing = code, details, initial, trailing

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self) -> Metadata:
        return self._initial

    def trailing_metadata(self) -> Metadata:  # type: ignore[override]
        return self._trailing


class _Stub:
    """A client stub of one service, as the generated ones are called: `Method(request, metadata=…)`,
    and `Method.with_call(…)` for the response and its call (the response metadata)."""

    def __init__(self, server: grpc_testing.Server, service: ServiceDescriptor, metadata: Metadata) -> None:
        self._server, self._service, self._metadata = server, service, metadata

    def __getattr__(self, name: str) -> _Method:
        return _Method(self._server, self._service.methods_by_name[name], self._metadata)


@dataclass(frozen=True)
class _Method:
    server: grpc_testing.Server
    descriptor: MethodDescriptor
    metadata: Metadata

    def __call__(self, request: Any, metadata: Sequence[tuple[str, str]] = (), timeout: float | None = None) -> Any:
        return self.with_call(request, metadata, timeout)[0]

    def with_call(self, request: Any, metadata: Sequence[tuple[str, str]] = (), timeout: float | None = None) -> tuple[Any, Ended]:
        rpc = self.start(request, metadata, timeout)
        response, trailing, code, details = rpc.termination()
        call = Ended(code, details, tuple(rpc.initial_metadata()), tuple(trailing))
        if code != grpc.StatusCode.OK:
            raise call
        return response, call

    def start(self, request: Any, metadata: Sequence[tuple[str, str]] = (), timeout: float | None = None) -> Any:
        """Starts the call and returns grpc_testing's handle on it, whose termination() waits for its end."""
        return self.server.invoke_unary_unary(self.descriptor, (*self.metadata, *metadata), request, timeout)


class Held:
    """Stands in for a use case: each call waits at its start until `release` is set, then runs the real
    one; `entered` is set once one waits. For calls that overlap (grpc_testing runs each on a thread)."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self._real = real
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, *args: Any) -> Any:
        self.entered.set()
        assert self.release.wait(10), "never released"
        return self._real(*args)


class Api:
    """The three services of the API over `tables`, each call through the chain of `settings`."""

    def __init__(self, tables: Tables | None = None, config: Settings | None = None) -> None:
        self.tables = tables if tables is not None else Tables()
        self.settings = config or settings()
        self.units = 0  # units of work made: one per use case run

        def unit() -> FakeUnitOfWork:
            self.units += 1
            return FakeUnitOfWork(self.tables)

        run = bootstrap.runner(self.settings, unit)  # as the server's: retries, metrics, the caller's deadline
        place = OrderPlacer(run, unit, 1, 1, 1)  # no combiner: one order, one transaction
        pager = paging.Pager(self.settings.max_message_bytes)
        handlers = MethodHandlers(_NoServer())  # type: ignore[arg-type]
        currency = self.settings.currency
        customer_pb2_grpc.add_CustomerServiceServicer_to_server(CustomerServicer(run, pager), handlers)
        product_pb2_grpc.add_ProductServiceServicer_to_server(ProductServicer(run, currency, pager), handlers)
        order_pb2_grpc.add_OrderServiceServicer_to_server(OrderServicer(run, place, currency, pager, self.settings.sync_settle_s), handlers)
        events = OrderEventServicer(
            _NoFeed(), Signer([TEST_SECRET]), self.settings.outbox_retention_s,  # type: ignore[arg-type]
            (self.settings.watch_max_streams, self.settings.watch_max_per_principal),
        )
        events_pb2_grpc.add_OrderEventServiceServicer_to_server(events, handlers)
        chain = interceptors(self.settings, None)
        self.server = grpc_testing.server_from_dictionary(
            {service: _Intercepted(service.full_name, chain, handlers) for service in (*SERVICES, EVENTS)},
            grpc_testing.strict_real_time(),
        )

    def stubs(self, bearer: str | None, *metadata: tuple[str, str]) -> Stubs:
        """Stubs whose every call sends `authorization: Bearer <bearer>` (none without one) and `metadata`."""
        sent = (*((("authorization", f"Bearer {bearer}"),) if bearer else ()), *metadata)
        return Stubs(*(_Stub(self.server, service, sent) for service in SERVICES))  # type: ignore[arg-type]

    def refused_watch(self, bearer: str, request: events_pb2.WatchOrderEventsRequest) -> Ended:
        """How a WatchOrderEvents call that must be refused before it streams ended."""
        watch = EVENTS.methods_by_name["WatchOrderEvents"]
        rpc = self.server.invoke_unary_stream(watch, (("authorization", f"Bearer {bearer}"),), request, None)
        trailing, code, details = rpc.termination()
        return Ended(code, details, tuple(rpc.initial_metadata()), tuple(trailing))
