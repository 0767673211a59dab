"""Tests for service.rest.app driven in-process as ASGI: failures of the gateway itself."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from service.rest import app as app_module
from service.runtime import http_server
from service.rest import routes
from service.rest.app import Gateway
from service.rest.backends import ChannelBackend
from service.settings import Settings
from tests.unit import shelves


def _run(gateway: Gateway, method: str, path: str, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers or []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    asyncio.run(gateway(scope, receive, send))
    start, end = sent
    return {"status": start["status"], "headers": dict(start["headers"]), "body": end["body"]}


@pytest.fixture
def gateway() -> Gateway:
    # No lifespan: these requests fail before any call, so no channel is needed.
    return Gateway(routes.build([shelves.service()]), ChannelBackend("127.0.0.1:1", [], None), {"/doc": (b"text/plain", b"hi")}, 1024, 5.0)


def test_an_unexpected_failure_is_a_500_without_trace_and_is_logged_with_the_request_id(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app_module.transcode, "request", explode)
    reply = _run(gateway, "GET", "/v1/shelves/s1", headers=[(b"x-request-id", b"req-500")])
    error = json.loads(reply["body"])["error"]
    assert (reply["status"], error["status"], error["message"]) == (500, "INTERNAL", "internal error")
    assert b"secret" not in reply["body"] and b"Traceback" not in reply["body"]
    assert reply["headers"][b"x-request-id"] == b"req-500"
    assert "req-500" in caplog.text and "secret internals" in caplog.text


def test_documents_are_served_with_their_content_type_and_length(gateway: Gateway) -> None:
    reply = _run(gateway, "GET", "/doc")
    assert (reply["status"], reply["body"], reply["headers"][b"content-type"], reply["headers"][b"content-length"]) == (200, b"hi", b"text/plain", b"2")


def test_a_declared_length_over_the_limit_is_refused_before_reading(gateway: Gateway) -> None:
    reply = _run(gateway, "POST", "/v1/shelves", b"{}", headers=[(b"content-length", b"999999"), (b"content-type", b"application/json")])
    assert reply["status"] == 413


def test_no_body_above_the_grpc_message_limit_reaches_a_handler() -> None:
    # In-process calls skip gRPC's own size check, so the body limit never exceeds the message limit.
    app = http_server.build(Settings(http_max_body_bytes=1024 * 1024, max_message_bytes=4096), ChannelBackend("127.0.0.1:1", [], None))
    reply = _run(app, "POST", "/v1/orders", b"{}", [(b"content-length", b"4097"), (b"content-type", b"application/json")])
    assert (reply["status"], json.loads(reply["body"])["error"]["message"]) == (413, "the body is larger than 4096 bytes")
