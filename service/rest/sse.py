"""Server-sent events: a gRPC response stream as `text/event-stream`, the SSE `id` being the resume token.

A reconnecting EventSource sends the last id it saw as `Last-Event-ID`; it becomes the request's
`resume_token`, so the stream resumes right after that event. The stream starts (200 and the
event-stream headers) only once the server has accepted the watch, which it says with the
`x-stream-started` initial metadata (service.grpc.context.STREAM_STARTED): a refused watch is an ordinary JSON error with its HTTP status.
An error after the start arrives as an `error` event carrying the AIP-193 body, and ends the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import code_pb2

from service.grpc import status
from service.grpc.context import STREAM_STARTED
from service.grpc.errors import WatchTooSlow
from service.rest import http_errors, transcode
from service.rest.http_errors import GatewayError, refuse
from service.rest.routes import Route

# Below the write buffer's pause mark (asyncio's 64 KiB, where uvicorn's send starts waiting for
# the client), so the stream notices a client that stopped reading before its own sends wait.
_MAX_BUFFERED_BYTES = 32 * 1024
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
    """Returns once the server accepted the stream; raises its refusal as a GatewayError.

    A stream that ends without sending a message may reach the client as a trailers-only response,
    which carries the server's initial metadata among its trailers: a stream that ended OK with the
    marker there started, and was empty (an export that selected nothing).
    """
    metadata = await call.initial_metadata()
    if any(key == STREAM_STARTED for key, _ in metadata or ()):
        return
    code = await call.code()  # no marker: the stream was refused, or has already ended
    if code == grpc.StatusCode.OK and any(key == STREAM_STARTED for key, _ in await call.trailing_metadata() or ()):
        return
    if code != grpc.StatusCode.OK:
        try:
            await call.read()  # raises the refusal, with its details
        except grpc.aio.AioRpcError as error:
            raise GatewayError(http_errors.status_of_error(error)) from None
    raise refuse(code_pb2.INTERNAL, "INTERNAL", "internal error")  # a stream that neither started nor failed


async def relay(route: Route, call: Any, send: Send, receive: Receive, extra: list[tuple[bytes, bytes]]) -> None:
    """Sends the stream as events until it ends or the client goes away (which cancels the call).

    A client that does not read what was sent is ended once more than _MAX_BUFFERED_BYTES of it
    wait in the connection's write buffer: the call is cancelled and a WATCH_TOO_SLOW error event,
    with the last event's resume token, is the stream's last.
    """
    await send({"type": "http.response.start", "status": 200, "headers": [*_HEADERS, *extra]})
    gone = cancel_on_disconnect(call, receive)
    buffered, last_token = _write_buffer(send), ""
    try:
        async for message in call:
            if buffered() > _MAX_BUFFERED_BYTES:
                call.cancel()
                await send({"type": "http.response.body", "body": _too_slow(last_token), "more_body": True})
                break
            event_id = getattr(message, "resume_token", "")
            last_token = event_id or last_token
            body = frame(transcode.response(route, message), event_id)
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


def cancel_on_disconnect(call: Any, receive: Receive) -> asyncio.Future[None]:
    """Cancels the streaming `call` once the HTTP client goes away; done then (a stream's relay
    cancels it when it ends first)."""
    gone = asyncio.ensure_future(_disconnected(receive))
    gone.add_done_callback(lambda _: call.cancel())
    return gone


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _write_buffer(send: Send) -> Callable[[], int]:
    """How many bytes of the response wait in the connection's write buffer. uvicorn's `send` is a
    method of the request's cycle, which holds the connection's transport; 0 for any other server."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    size = getattr(transport, "get_write_buffer_size", None)
    return size if callable(size) else lambda: 0


def _too_slow(last_token: str) -> bytes:
    grpc_status = status.to_status(WatchTooSlow(last_token))
    rich = http_errors.status_of(grpc_status.code, grpc_status.details, grpc_status.trailing_metadata)
    return frame(http_errors.render(rich).body, event="error")
