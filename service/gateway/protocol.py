"""uvicorn's httptools protocol, with the writes of one event-loop step sent as one.

uvicorn writes a response's status line and headers, then its body, in separate `transport.write`
calls. With TCP_NODELAY (service/gateway/http_server.py) each write is a segment of its own, so a
small JSON answer cost two segments and two syscalls. The writes a request makes within one step of
the loop (headers and body of a whole response, or an SSE event and its neighbours) are joined and
written once at the end of that step: one segment for a small response, nothing held past the step.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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


class GatewayProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
