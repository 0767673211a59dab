"""Tests for service.grpc.dispatch and its context: a call in-process ends as a gRPC server would end it."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from service.grpc.dispatch import DEADLINE_EXCEEDED, OVERLOADED, UNIMPLEMENTED, Dispatcher, MethodHandlers
from service.grpc.in_process_context import InProcessContext

METHOD = "/test.Service/Call"


class _Server:
    """Takes what servicers register, as a grpc.Server would."""

    def __init__(self) -> None:
        self.generic: list[Any] = []
        self.registered: dict[str, Any] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self.generic += handlers

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:
        self.registered[service] = handlers


class _Tag(grpc.ServerInterceptor):
    """Wraps every handler to record, in order, which interceptors a call went through."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self._name, self._seen = name, seen

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        inner = handler.unary_unary

        def tagged(request: Any, context: Any) -> Any:
            self._seen.append(self._name)
            return inner(request, context)

        return handler._replace(unary_unary=tagged)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def _dispatcher(behaviour: Callable[[Any, Any], Any], pool: ThreadPoolExecutor, limit: int | None = None,
                interceptors: list[grpc.ServerInterceptor] | None = None) -> tuple[Dispatcher, _Server]:
    server = _Server()
    handlers = MethodHandlers(server)  # type: ignore[arg-type]
    handlers.add_registered_method_handlers("test.Service", {"Call": grpc.unary_unary_rpc_method_handler(behaviour)})
    return Dispatcher(handlers, interceptors or [], pool, limit), server


def _call(dispatcher: Dispatcher, metadata: tuple[tuple[str, str], ...] = (), timeout_s: float = 5, method: str = METHOD) -> Any:
    return dispatcher.submit(method, "request", InProcessContext(metadata, time.monotonic() + timeout_s)).result(timeout=10)


def test_the_servicers_registration_reaches_the_server_too(pool: ThreadPoolExecutor) -> None:
    _, server = _dispatcher(lambda request, context: request, pool)
    assert list(server.registered["test.Service"]) == ["Call"]


def test_a_reply_comes_back_with_the_metadata_the_handler_sent(pool: ThreadPoolExecutor) -> None:
    def behaviour(request: Any, context: Any) -> Any:
        context.send_initial_metadata([("idempotent-replayed", "true")])
        context.set_trailing_metadata([("t", "1")])
        return ("echo", request, dict(context.invocation_metadata()))

    outcome = _call(_dispatcher(behaviour, pool)[0], (("k", "v"),))
    assert (outcome.code, outcome.response) == (grpc.StatusCode.OK, ("echo", "request", {"k": "v"}))
    assert (outcome.initial_metadata, outcome.trailing_metadata) == ((("idempotent-replayed", "true"),), (("t", "1"),))


def test_an_abort_ends_the_call_with_its_status_and_trailing_metadata(pool: ThreadPoolExecutor) -> None:
    status = grpc.Status()
    status.code, status.details, status.trailing_metadata = grpc.StatusCode.NOT_FOUND, "gone", (("grpc-status-details-bin", b"x"),)  # type: ignore[attr-defined]

    def behaviour(request: Any, context: Any) -> Any:
        context.abort_with_status(status)

    outcome = _call(_dispatcher(behaviour, pool)[0])
    assert (outcome.code, outcome.details, outcome.response, outcome.trailing_metadata) == (
        grpc.StatusCode.NOT_FOUND, "gone", None, (("grpc-status-details-bin", b"x"),)
    )


def test_a_code_set_without_aborting_still_fails_the_call(pool: ThreadPoolExecutor) -> None:
    def behaviour(request: Any, context: Any) -> Any:
        context.set_code(grpc.StatusCode.FAILED_PRECONDITION)
        context.set_details("not now")
        return "ignored"

    outcome = _call(_dispatcher(behaviour, pool)[0])
    assert (outcome.code, outcome.details, outcome.response) == (grpc.StatusCode.FAILED_PRECONDITION, "not now", None)


def test_an_exception_that_escapes_is_unknown_in_grpcios_words(pool: ThreadPoolExecutor) -> None:
    def behaviour(request: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    outcome = _call(_dispatcher(behaviour, pool)[0])
    assert (outcome.code, outcome.details) == (grpc.StatusCode.UNKNOWN, "Exception calling application: boom")


def test_an_unknown_method_is_unimplemented(pool: ThreadPoolExecutor) -> None:
    assert _call(_dispatcher(lambda request, context: request, pool)[0], method="/test.Service/Other") is UNIMPLEMENTED


def test_the_server_interceptors_run_outermost_first(pool: ThreadPoolExecutor) -> None:
    seen: list[str] = []
    dispatcher, _ = _dispatcher(lambda request, context: request, pool, interceptors=[_Tag("outer", seen), _Tag("inner", seen)])
    assert _call(dispatcher).code == grpc.StatusCode.OK
    assert seen == ["outer", "inner"]


def test_beyond_the_limit_calls_are_refused_at_once_and_places_come_back(pool: ThreadPoolExecutor) -> None:
    release = threading.Event()
    dispatcher, _ = _dispatcher(lambda request, context: release.wait(10), pool, limit=2)
    held = [dispatcher.submit(METHOD, "r", InProcessContext((), None)) for _ in range(2)]
    assert _call(dispatcher) is OVERLOADED
    release.set()
    assert [f.result(timeout=10).response for f in held] == [True, True]
    assert _call(dispatcher).code == grpc.StatusCode.OK


def test_a_call_whose_deadline_passed_before_a_thread_took_it_never_runs(pool: ThreadPoolExecutor) -> None:
    ran: list[str] = []
    dispatcher, _ = _dispatcher(lambda request, context: ran.append(request), pool)
    assert dispatcher.submit(METHOD, "late", InProcessContext((), time.monotonic() - 1)).result(timeout=10) is DEADLINE_EXCEEDED
    assert ran == []


def test_the_context_keeps_grpcios_rules() -> None:
    context = InProcessContext((), time.monotonic() - 1)
    assert (context.time_remaining(), context.is_active()) == (0.0, False)
    assert InProcessContext((), None).time_remaining() is None
    context.send_initial_metadata([("a", "1")])
    with pytest.raises(ValueError):
        context.send_initial_metadata([("b", "2")])  # initial metadata goes once


_LEFT_BEHIND: contextvars.ContextVar[str] = contextvars.ContextVar("left_behind", default="")


def test_a_context_variable_set_by_one_call_is_not_seen_by_the_next_on_the_same_thread() -> None:
    def behaviour(request: Any, context: Any) -> Any:
        seen = _LEFT_BEHIND.get()
        _LEFT_BEHIND.set(request)  # never reset, as a careless step might
        return seen

    with ThreadPoolExecutor(1) as one_thread:
        dispatcher = _dispatcher(behaviour, one_thread)[0]
        first = dispatcher.submit(METHOD, "first", InProcessContext((), time.monotonic() + 5)).result(timeout=10)
        second = dispatcher.submit(METHOD, "second", InProcessContext((), time.monotonic() + 5)).result(timeout=10)
    assert (first.response, second.response) == ("", "")
