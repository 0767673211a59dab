"""Where the gateway's calls go: a gRPC channel, or this process's own handlers (service/grpc/dispatch.py).

`erp-orders gateway` calls a remote server over a channel. `erp-orders serve` calls its own
process in-process: the same interceptors and servicers, without serializing, a second gRPC hop
or the server's transport. Both give the app the same thing: the reply and the response headers,
or a GatewayError built by http_errors from the status and trailing metadata, as a gRPC client
would receive them. The in-process backend keeps a channel to its own server for what it does not
dispatch itself: the WatchOrderEvents stream (SSE) and /readyz.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message

from service.grpc.dispatch import DEADLINE_EXCEEDED, CallOutcome, Dispatcher
from service.rest import headers, http_errors, ops
from service.rest.http_errors import GatewayError
from service.rest.routes import Route
from service.grpc.in_process_context import InProcessContext

ResponseHeaders = list[tuple[bytes, bytes]]


class Backend(Protocol):
    """Opened at ASGI startup, on the event loop that serves requests, and closed at shutdown."""

    target: str  # what it calls, for the log

    def open(self, routes: list[Route]) -> None: ...

    async def close(self) -> None: ...

    async def call(self, route: Route, request: Message, incoming: headers.Incoming) -> tuple[Message, ResponseHeaders]:
        """The reply and the headers from the response metadata; raises GatewayError for a failed call."""

    def watch(self, route: Route, request: Message, incoming: headers.Incoming) -> Any:
        """A response stream (grpc.aio.UnaryStreamCall) for service.rest.sse."""

    def endpoints(self) -> dict[str, ops.Endpoint]: ...


class ChannelBackend:
    def __init__(self, target: str, options: list[tuple[str, Any]], credentials: grpc.ChannelCredentials | None) -> None:
        self.target = target
        self._options = options
        self._credentials = credentials
        self._channel: grpc.aio.Channel | None = None
        self._calls: dict[str, grpc.aio.UnaryUnaryMultiCallable[Any, Any]] = {}
        self._streams: dict[str, grpc.aio.UnaryStreamMultiCallable[Any, Any]] = {}

    def open(self, routes: list[Route]) -> None:
        if self._credentials is None:
            channel = grpc.aio.insecure_channel(self.target, options=self._options)
        else:
            channel = grpc.aio.secure_channel(self.target, self._credentials, options=self._options)
        for route in routes:
            codec: dict[str, Any] = {
                "request_serializer": route.request_class.SerializeToString,
                "response_deserializer": route.response_class.FromString,
            }
            if route.streaming:
                self._streams[route.grpc_path] = channel.unary_stream(route.grpc_path, **codec)
            else:
                self._calls[route.grpc_path] = channel.unary_unary(route.grpc_path, **codec)
        self._channel = channel

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    async def call(self, route: Route, request: Message, incoming: headers.Incoming) -> tuple[Message, ResponseHeaders]:
        call = self._calls[route.grpc_path](request, timeout=incoming.timeout_s, metadata=incoming.metadata)
        try:
            reply = await call
        except grpc.aio.AioRpcError as error:
            replayed = headers.outgoing(error.initial_metadata(), error.trailing_metadata())
            raise GatewayError(http_errors.status_of_error(error), headers=replayed) from None
        return reply, headers.outgoing(await call.initial_metadata(), await call.trailing_metadata())

    def watch(self, route: Route, request: Message, incoming: headers.Incoming) -> Any:
        # No deadline: a watch lasts until its client goes away.
        return self._streams[route.grpc_path](request, metadata=incoming.metadata)

    def endpoints(self) -> dict[str, ops.Endpoint]:
        assert self._channel is not None, "opened at startup"
        return ops.endpoints(self._channel)


@dataclass
class InProcessBackend:
    dispatcher: Dispatcher
    own_server: ChannelBackend  # this process's server, for the stream and readiness
    target = "in-process"

    def open(self, routes: list[Route]) -> None:
        self.own_server.open(routes)

    async def close(self) -> None:
        await self.own_server.close()

    async def call(self, route: Route, request: Message, incoming: headers.Incoming) -> tuple[Message, ResponseHeaders]:
        context = InProcessContext(incoming.metadata, time.monotonic() + incoming.timeout_s)
        outcome = DEADLINE_EXCEEDED  # a deadline that has passed before the call started never starts it
        remaining = context.time_remaining()
        if remaining:
            outcome = await self._outcome(route, request, context, remaining)
        response_headers = headers.outgoing(outcome.initial_metadata, outcome.trailing_metadata)
        if outcome.code != grpc.StatusCode.OK:
            status = http_errors.status_of(outcome.code, outcome.details, outcome.trailing_metadata)
            raise GatewayError(status, headers=response_headers)
        return outcome.response, response_headers

    async def _outcome(self, route: Route, request: Message, context: InProcessContext, remaining: float) -> CallOutcome:
        """The call's outcome, or DEADLINE_EXCEEDED once `remaining` has passed: the handler may still
        be running then and, as on a gRPC server, its late answer goes nowhere. The pool thread answers
        with one callback on the loop; asyncio.wrap_future and wait_for cost a second future, a third
        for the wait, and their callbacks."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[CallOutcome] = loop.create_future()
        running = self.dispatcher.submit(route.grpc_path, request, context)

        def answered(done: Future[CallOutcome]) -> None:  # on the pool thread
            if not loop.is_closed():  # else the gateway stopped meanwhile
                loop.call_soon_threadsafe(_settle_with, answer, done)

        running.add_done_callback(answered)
        timer = loop.call_later(remaining, _expire, answer, running)
        try:
            return await answer
        except asyncio.CancelledError:
            running.cancel()  # the client went away: a call still queued for a thread never starts
            raise
        finally:
            timer.cancel()

    def watch(self, route: Route, request: Message, incoming: headers.Incoming) -> Any:
        return self.own_server.watch(route, request, incoming)

    def endpoints(self) -> dict[str, ops.Endpoint]:
        return self.own_server.endpoints()


def _expire(answer: asyncio.Future[CallOutcome], running: Future[CallOutcome]) -> None:
    running.cancel()  # a call still waiting for a thread never starts
    if not answer.done():
        answer.set_result(DEADLINE_EXCEEDED)


def _settle_with(answer: asyncio.Future[CallOutcome], done: Future[CallOutcome]) -> None:
    if not answer.done():  # else the deadline answered first, or the request was cancelled
        answer.set_result(done.result())
