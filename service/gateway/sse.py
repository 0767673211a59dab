"""Server-sent events: a gRPC response stream as `text/event-stream`, the SSE `id` being the resume token.

A reconnecting EventSource sends the last id it saw as `Last-Event-ID`; it becomes the request's
`resume_token`, so the stream resumes right after that event. The stream starts (200 and the
event-stream headers) only once the server has accepted the watch, which it says with the
`x-stream-started` initial metadata (service.context.STREAM_STARTED): a refused watch is an ordinary JSON error with its HTTP status.
An error after the start arrives as an `error` event carrying the AIP-193 body, and ends the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import code_pb2

from service.context import STREAM_STARTED
from service.gateway import http_errors, transcode
from service.gateway.http_errors import GatewayError, refuse
from service.gateway.routes import Route

_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


def frame(data: bytes, event_id: str = "", event: str = "") -> bytes:
    """One event; without a name it is a plain `message` event (EventSource's onmessage)."""
    lines = [f"id: {event_id}".encode()] if event_id else []
    if event:
        lines.append(f"event: {event}".encode())
    lines += [b"data: " + line for line in data.split(b"\n")]
    return b"\n".join(lines) + b"\n\n"


def resume_from(request: Message, raw_headers: list[tuple[bytes, bytes]]) -> None:
    """Last-Event-ID becomes the resume token, unless the query string already set one."""
    if "resume_token" not in request.DESCRIPTOR.fields_by_name or request.resume_token:
        return
    for name, value in raw_headers:
        if name.lower() == b"last-event-id" and value:
            request.resume_token = value.decode("latin-1")


async def started(call: Any) -> None:
    """Returns once the server accepted the stream; raises its refusal as a GatewayError."""
    metadata = await call.initial_metadata()
    if any(key == STREAM_STARTED for key, _ in metadata or ()):
        return
    try:
        await call.read()  # a refused stream ends with its status
    except grpc.aio.AioRpcError as error:
        raise GatewayError(http_errors.status_of_error(error)) from None
    raise refuse(code_pb2.INTERNAL, "INTERNAL", "internal error")  # a stream that neither started nor failed


async def relay(route: Route, call: Any, send: Send, receive: Receive, extra: list[tuple[bytes, bytes]]) -> None:
    """Sends the stream as events until it ends or the client goes away (which cancels the call)."""
    await send({"type": "http.response.start", "status": 200, "headers": [*_HEADERS, *extra]})
    gone = asyncio.ensure_future(_disconnected(receive))
    gone.add_done_callback(lambda _: call.cancel())
    try:
        async for message in call:
            body = frame(transcode.response(route, message), getattr(message, "resume_token", ""))
            await send({"type": "http.response.body", "body": body, "more_body": True})
    except grpc.aio.AioRpcError as error:
        if not gone.done():
            body = http_errors.render(http_errors.status_of_error(error)).body
            await send({"type": "http.response.body", "body": frame(body, event="error"), "more_body": True})
    except asyncio.CancelledError:
        if not gone.done():
            raise
    finally:
        gone.cancel()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
