"""The ASGI application: serves the documents, turns API routes into calls of its backend, and renders every failure."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from google.protobuf.message import Message
from google.rpc import code_pb2

from service.rest import csv_export, headers, http_errors, ops, sse, transcode
from service.rest.backends import Backend
from service.rest.http_errors import GatewayError, refuse
from service.rest.router import Router
from service.rest.routes import Route

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Document = tuple[bytes, bytes]  # content type, body
Reply = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, headers, body

_JSON = (b"content-type", b"application/json")
_INTERNAL = refuse(code_pb2.INTERNAL, "INTERNAL", "internal error")


class Gateway:
    """One instance per process. Its backend opens at ASGI startup, on the loop that serves requests."""

    def __init__(
        self,
        routes: list[Route],
        backend: Backend,
        documents: Mapping[str, Document],
        max_body_bytes: int,
        default_timeout_s: float,
    ) -> None:
        self.router = Router(routes)
        self._backend = backend
        self._documents = dict(documents)
        self._max_body_bytes = max_body_bytes
        self._default_timeout_s = default_timeout_s
        self._endpoints: dict[str, ops.Endpoint] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                self._backend.open(self.router.routes)
                self._endpoints = self._backend.endpoints()
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await self._backend.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = ""
        try:
            client = scope.get("client")
            incoming = headers.incoming(scope["headers"], self._default_timeout_s, f"http:{client[0]}" if client else "")
            request_id = incoming.request_id
            reply = await self._handle(scope, receive, incoming)
            if isinstance(reply, _Stream):
                relay = csv_export.relay if csv_export.renders(reply.route) else sse.relay
                await relay(reply.route, reply.call, send, receive, [(b"x-request-id", request_id.encode("latin-1"))])
                return
            status, extra, body = reply
        except GatewayError as error:
            request_id = request_id or headers.new_request_id()  # the headers themselves were refused
            rendered = http_errors.render(error.status, error.http_status)
            status, extra, body = rendered.status, [_JSON, *rendered.headers, *error.headers], rendered.body
        except Exception:
            # Never the trace to the client: it goes to the log, under the request id the client was given.
            request_id = request_id or headers.new_request_id()
            log.exception("gateway failure, request %s", request_id)
            rendered = http_errors.render(_INTERNAL.status)
            status, extra, body = rendered.status, [_JSON], rendered.body
        extra.append((b"x-request-id", request_id.encode("latin-1")))
        extra.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": extra})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive, incoming: headers.Incoming) -> Reply | _Stream:
        method, path = scope["method"], scope["path"]
        document = self._documents.get(path)
        endpoint = self._endpoints.get(path)
        if document is not None or endpoint is not None:
            if method != "GET":
                raise refuse(code_pb2.UNIMPLEMENTED, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}; use GET",
                             http_status=405, headers=[(b"allow", b"GET")])
            if endpoint is not None:
                return await endpoint()
            assert document is not None
            return 200, [(b"content-type", document[0])], document[1]
        raw_path = scope.get("raw_path")
        route, values = self.router.resolve(method, raw_path.decode("latin-1") if raw_path else path)
        body = await self._body(route, incoming, receive)
        request = transcode.request(route, values, scope["query_string"], body)
        if route.streaming:
            sse.resume_from(request, scope["headers"])
            call = self._backend.watch(route, request, incoming)
            await sse.started(call)
            return _Stream(route, call)
        return await self._call(route, request, incoming)

    async def _body(self, route: Route, incoming: headers.Incoming, receive: Receive) -> bytes:
        if not route.body:
            return b""  # a binding without a body ignores one, as grpc-gateway does
        if incoming.content_length is not None and incoming.content_length > self._max_body_bytes:
            raise self._too_large()
        chunks, size, more = [], 0, True
        while more:
            event = await receive()
            if event["type"] == "http.disconnect":
                raise refuse(code_pb2.CANCELLED, "CLIENT_DISCONNECTED", "the client went away")
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > self._max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            more = event.get("more_body", False)
        body = b"".join(chunks)
        if body and not _is_json(incoming.content_type):
            raise refuse(
                code_pb2.INVALID_ARGUMENT, "UNSUPPORTED_MEDIA_TYPE",
                f"the body must be application/json, not {incoming.content_type.decode('latin-1') or 'untyped'}",
                [("Content-Type", "expected application/json")], http_status=415,
            )
        return body

    async def _call(self, route: Route, request: Message, incoming: headers.Incoming) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        reply, extra = await self._backend.call(route, request, incoming)
        if route.success_status == 204:
            return 204, extra, b""
        extra.append(_JSON)
        if route.location is not None:
            extra.append((b"location", route.location.of(reply).encode()))
        return route.success_status, extra, transcode.response(route, reply)

    def _too_large(self) -> GatewayError:
        return refuse(
            code_pb2.RESOURCE_EXHAUSTED, "BODY_TOO_LARGE", f"the body is larger than {self._max_body_bytes} bytes",
            [("body", f"at most {self._max_body_bytes} bytes")], http_status=413,
        )


@dataclass(frozen=True)
class _Stream:
    route: Route
    call: Any  # grpc.aio.UnaryStreamCall, started


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
