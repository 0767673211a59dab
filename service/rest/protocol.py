"""uvicorn's httptools protocol, with the writes of one event-loop step sent as one, and the
per-connection limits that keep slow or numerous clients from holding the worker.

uvicorn writes a response's status line and headers, then its body, in separate `transport.write`
calls. With TCP_NODELAY (service/runtime/http_server.py) each write is a segment of its own, so a
small JSON answer cost two segments and two syscalls. The writes a request makes within one step of
the loop (headers and body of a whole response, or an SSE event and its neighbours) are joined and
written once at the end of that step: one segment for a small response, nothing held past the step.

Limits (`Limits`, from the ORDERS_HTTP_* settings): a request's headers must arrive within the
header timeout of the connection's start or of the request's first byte, its body within the body
timeout of its headers, or the connection is closed (with a 408 if no response has begun). Past
`max_connections` open connections a new one is closed at once: the worker's file descriptors stay
for gRPC, the database and Redis. An idle kept-alive connection is uvicorn's own timeout_keep_alive.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service import metrics

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class _CoalescingTransport:
    """The connection's transport, but writes wait for the end of the current loop step."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def close(self) -> None:
        self._flush()  # what was written before close() still goes out, in order
        self._transport.close()

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        # Everything else (is_closing, get_extra_info, pause_reading, ...) is the transport's own.
        return getattr(self._transport, name)


@dataclass(frozen=True)
class Limits:
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int


class GatewayProtocol(HttpToolsProtocol):
    limits: ClassVar[Limits]  # set by `limited`
    _deadline: asyncio.TimerHandle | None = None  # the headers' or the body's, while one is awaited

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        if len(self.connections) > self.limits.max_connections:
            metrics.HTTP_CONNECTIONS_CLOSED.labels("over_capacity").inc()
            transport.close()
            return
        self._await("header_timeout", self.limits.header_timeout_s)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request of a kept-alive connection
            self._await("header_timeout", self.limits.header_timeout_s)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._await("body_timeout", self.limits.body_timeout_s)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await(self, what: str, timeout_s: float) -> None:
        self._stop_waiting()
        self._deadline = self.loop.call_later(timeout_s, self._timed_out, what)

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self, what: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        metrics.HTTP_CONNECTIONS_CLOSED.labels(what).inc()
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMED_OUT)
        self.transport.close()  # the app, if it waits for the body, receives http.disconnect


def limited(limits: Limits) -> type[GatewayProtocol]:
    """The protocol class for uvicorn's `http=`, with these limits."""
    return type("LimitedGatewayProtocol", (GatewayProtocol,), {"limits": limits})
