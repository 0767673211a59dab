"""Error mapping over real HTTP and real gRPC: every row of the status table, reason overrides and headers.

Most statuses cannot be provoked on demand from the order service, so a scripted gRPC server plays
the backend here: it answers each call with the status, reason and metadata the test asks for (sent as
Grpc-Metadata-* headers, which exercises that forwarding too). The last tests use the real server.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.runtime import http_server as rest
from service.rest.http_errors import HTTP_STATUS
from service.settings import Settings
from tests.conftest import BOTH_BACKENDS
from tests.helpers import cpf, token, unique

GATEWAY_BACKENDS = BOTH_BACKENDS  # the real-server tests at the end


class ScriptedBackend(grpc.GenericRpcHandler):
    """Answers any method as the x-code / x-reason / x-retry-s / x-replayed metadata say; records what it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], float | None]] = []

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        if ("x-code", "UNIMPLEMENTED") in details.invocation_metadata:  # type: ignore[operator]
            return None  # gRPC itself answers UNIMPLEMENTED
        return grpc.unary_unary_rpc_method_handler(self._answer)  # bytes in, bytes out

    def _answer(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        self.calls.append((metadata, context.time_remaining()))
        if metadata.get("x-replayed") == "initial":
            context.send_initial_metadata([("idempotent-replayed", "true")])
        if metadata.get("x-replayed") == "trailing":
            context.set_trailing_metadata([("idempotent-replayed", "true")])
        code = metadata.get("x-code", "OK")
        if code == "OK":
            return b""  # an empty message of any type
        details = []
        if "x-reason" in metadata:
            details.append(error_details_pb2.ErrorInfo(reason=metadata["x-reason"], domain="scripted.example"))
        if "x-retry-s" in metadata:
            details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(metadata["x-retry-s"]), nanos=1)))
        packed = [any_pb2.Any() for _ in details]
        for target, detail in zip(packed, details, strict=True):
            target.Pack(detail)
        status = status_pb2.Status(code=code_pb2.Code.Value(code), message=f"scripted {code}", details=packed)
        context.abort_with_status(rpc_status.to_status(status))
        raise AssertionError("abort_with_status raises")


@pytest.fixture(scope="module")
def backend() -> Iterator[tuple[ScriptedBackend, int]]:
    scripted = ScriptedBackend()
    server = grpc.server(ThreadPoolExecutor(4), handlers=[scripted])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield scripted, port
    server.stop(0).wait()


def _gateway_to(settings: Settings, target: str) -> Iterator[httpx.Client]:
    gateway_settings = dataclasses.replace(settings, http_host="127.0.0.1", http_port=0)
    running = rest.start(gateway_settings, rest.channel(gateway_settings, target))
    with httpx.Client(base_url=f"http://127.0.0.1:{running.port}", timeout=30) as client:
        yield client
    rest.stop(running)


@pytest.fixture(scope="module")
def scripted(settings: Settings, backend: tuple[ScriptedBackend, int]) -> Iterator[httpx.Client]:
    yield from _gateway_to(settings, f"127.0.0.1:{backend[1]}")


def _script(**values: str) -> dict[str, str]:
    return {f"Grpc-Metadata-X-{name.replace('_', '-')}": value for name, value in values.items()}


def _body(reply: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = reply.json()["error"]
    assert set(error) == {"code", "message", "status", "details"}
    assert error["code"] == reply.status_code
    return error


def _reason(error: dict[str, Any]) -> str:
    infos = [d for d in error["details"] if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"]
    assert len(infos) == 1
    return str(infos[0]["reason"])


EVERY_CODE = [name for name in code_pb2.Code.keys() if name != "OK"]


@pytest.mark.parametrize("code", EVERY_CODE)
def test_every_grpc_code_maps_to_its_http_status_with_an_aip193_body(scripted: httpx.Client, code: str) -> None:
    reply = scripted.get("/v1/orders/o-1", headers=_script(code=code, reason=f"WHY_{code}"))
    assert reply.status_code == HTTP_STATUS.get(code_pb2.Code.Value(code), 500)
    error = _body(reply)
    assert error["status"] == code
    if code != "UNIMPLEMENTED":  # answered by gRPC itself, so without our details
        assert error["message"] == f"scripted {code}"
        assert _reason(error) == f"WHY_{code}"


def test_the_table_covers_the_statuses_the_issue_names() -> None:
    named = {400: 3, 401: 1, 403: 1, 404: 1, 409: 2, 429: 1, 499: 1, 501: 1, 503: 1, 504: 1}
    counted = {status: list(HTTP_STATUS.values()).count(status) for status in named}
    assert counted == named


def test_a_status_without_details_still_gets_an_error_info_named_after_the_code(scripted: httpx.Client) -> None:
    error = _body(scripted.get("/v1/orders/o-1", headers=_script(code="DATA_LOSS")))
    assert (error["code"], _reason(error)) == (500, "DATA_LOSS")


@pytest.mark.parametrize(("reason", "status"), [("IDEMPOTENCY_KEY_REUSED", 422), ("IDEMPOTENCY_KEY_IN_USE", 409)])
def test_idempotency_reasons_override_the_code_table(scripted: httpx.Client, reason: str, status: int) -> None:
    reply = scripted.post("/v1/orders", json={}, headers=_script(code="FAILED_PRECONDITION", reason=reason))
    assert reply.status_code == status
    assert _reason(_body(reply)) == reason


def test_retry_info_becomes_retry_after_in_whole_seconds_rounded_up(scripted: httpx.Client) -> None:
    reply = scripted.get("/v1/orders", headers=_script(code="RESOURCE_EXHAUSTED", reason="RATE_LIMITED", retry_s="3"))
    assert (reply.status_code, reply.headers["retry-after"]) == (429, "4")
    retry_info = [d for d in _body(reply)["details"] if d["@type"].endswith("RetryInfo")]
    assert retry_info == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3.000000001s"}]
    bare = scripted.get("/v1/orders", headers=_script(code="RESOURCE_EXHAUSTED"))
    assert (bare.status_code, bare.headers["retry-after"]) == (429, "1")


@pytest.mark.parametrize("where", ["initial", "trailing"])
def test_replay_metadata_becomes_the_idempotent_replayed_header(scripted: httpx.Client, where: str) -> None:
    reply = scripted.post("/v1/orders/o-1:cancel", json={"reason": "r"}, headers=_script(replayed=where))
    assert (reply.status_code, reply.headers.get("idempotent-replayed")) == (200, "true")
    assert "idempotent-replayed" not in scripted.post("/v1/orders/o-1:cancel", json={"reason": "r"}).headers


def test_only_the_listed_headers_are_forwarded_as_metadata(scripted: httpx.Client, backend: tuple[ScriptedBackend, int]) -> None:
    headers = {
        "Authorization": "Bearer t0ken",
        "Idempotency-Key": "k1",
        "X-Request-Id": "req-42",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "Grpc-Metadata-Tenant": "acme",
        "Cookie": "session=secret",
        "X-Forwarded-For": "10.0.0.1",
        "User-Agent": "curl-like/1.0",
    }
    reply = scripted.post("/v1/orders", json={}, headers=headers)
    assert reply.headers["x-request-id"] == "req-42"
    metadata, _ = backend[0].calls[-1]
    forwarded = {k: v for k, v in metadata.items() if k not in ("user-agent",)}
    assert forwarded == {
        "authorization": "Bearer t0ken",
        "idempotency-key": "k1",
        "x-request-id": "req-42",
        "traceparent": headers["traceparent"],
        "tenant": "acme",
        # The HTTP client's address, so that the server throttles each client, not the gateway; uvicorn
        # takes it from X-Forwarded-For because the request comes from the trusted local proxy address.
        "x-orders-client-address": "http:10.0.0.1",
    }
    assert "curl-like" not in metadata.get("user-agent", "")


def test_a_request_id_is_generated_when_absent_and_sent_both_ways(scripted: httpx.Client, backend: tuple[ScriptedBackend, int]) -> None:
    reply = scripted.get("/v1/orders/o-1")
    metadata, _ = backend[0].calls[-1]
    assert reply.headers["x-request-id"] == metadata["x-request-id"] != ""


def test_the_grpc_timeout_header_sets_the_call_deadline(scripted: httpx.Client, backend: tuple[ScriptedBackend, int]) -> None:
    scripted.get("/v1/orders/o-1", headers={"Grpc-Timeout": "2S"})
    _, remaining = backend[0].calls[-1]
    # gRPC rounds deadlines up on the wire; the point is 2 s, not the 30 s default.
    assert remaining is not None and 0 < remaining < 3


@pytest.mark.parametrize("value", ["2562048H", "99999999H", "99999999S"])
def test_a_huge_grpc_timeout_is_clamped_to_a_day_not_an_instant_504(
    scripted: httpx.Client, backend: tuple[ScriptedBackend, int], value: str
) -> None:
    reply = scripted.get("/v1/orders/o-1", headers={"Grpc-Timeout": value})
    _, remaining = backend[0].calls[-1]
    assert reply.status_code == 200
    # gRPC rounds deadlines up on the wire (to three significant digits); the point is a day, not 0.
    assert remaining is not None and 86_000 < remaining < 87_000


@pytest.mark.parametrize("size", [7 * 1024, 16 * 1024, 64 * 1024])
def test_grpc_metadata_over_the_budget_is_431_and_never_reaches_grpc(
    scripted: httpx.Client, backend: tuple[ScriptedBackend, int], size: int
) -> None:
    calls = len(backend[0].calls)
    reply = scripted.get("/v1/orders/o-1", headers={"Grpc-Metadata-Tenant": "x" * size})
    assert (reply.status_code, _body(reply)["status"], _reason(_body(reply))) == (431, "RESOURCE_EXHAUSTED", "HEADERS_TOO_LARGE")
    assert reply.headers["x-request-id"]
    assert len(backend[0].calls) == calls


def test_metadata_just_under_the_budget_always_goes_through(scripted: httpx.Client) -> None:
    # Between gRPC's soft (8 KiB) and hard (16 KiB) limits a call fails at random; the budget keeps below both.
    replies = {scripted.get("/v1/orders/o-1", headers={"Grpc-Metadata-Tenant": "x" * 6900}).status_code for _ in range(20)}
    assert replies == {200}


def test_creates_answer_201_and_empty_results_keep_the_location(scripted: httpx.Client) -> None:
    reply = scripted.post("/v1/orders", json={})
    assert reply.status_code == 201
    assert reply.headers["location"] == "/v1/orders/"


# The real server and real network failures.


def test_real_server_errors_keep_their_reasons(http: httpx.Client) -> None:
    missing = http.get("/v1/orders/no-such-order")
    assert (missing.status_code, _reason(_body(missing))) == (404, "NOT_FOUND")
    product = {"sku": unique("SKU-"), "name": "W", "price": {"units": "1"}, "initialStock": "1"}
    product_id = http.post("/v1/products", json=product).json()["id"]
    duplicate = http.post("/v1/products", json=product)
    assert (duplicate.status_code, _reason(_body(duplicate))) == (409, "ALREADY_EXISTS")
    customer = http.post("/v1/customers", json={"name": "E", "document": cpf(), "email": f"{unique()}@example.com"}).json()
    short = http.post("/v1/orders", json={"customerId": customer["id"], "items": [{"productId": product_id, "quantity": 2}]})
    assert (short.status_code, _body(short)["status"], _reason(_body(short))) == (400, "FAILED_PRECONDITION", "INSUFFICIENT_STOCK")


def test_the_gateways_request_id_wins_over_a_clients_grpc_metadata_one(http: httpx.Client) -> None:
    product = {"sku": unique("SKU-"), "name": "W", "price": {"units": "1"}, "initialStock": "1"}
    reply = http.post("/v1/products", json=product, headers={"Grpc-Metadata-X-Request-Id": "forged"})
    movements = http.get(f"/v1/products/{reply.json()['id']}/stockMovements").json()["movements"]
    assert [m["requestId"] for m in movements] == [reply.headers["x-request-id"]]
    assert reply.headers["x-request-id"] != "forged"


def test_two_authorization_headers_over_rest_are_401(gateway: rest.RunningGateway) -> None:
    bearer = ("Authorization", f"Bearer {token('tester')}")
    with httpx.Client(base_url=f"http://127.0.0.1:{gateway.port}", timeout=30) as client:
        assert client.get("/v1/orders", headers=[bearer]).status_code == 200
        reply = client.get("/v1/orders", headers=[bearer, bearer])
    assert (reply.status_code, _reason(_body(reply))) == (401, "UNAUTHENTICATED")
    assert "one authorization" in _body(reply)["message"]


def test_an_expired_deadline_is_504(http: httpx.Client) -> None:
    reply = http.get("/v1/orders", headers={"Grpc-Timeout": "1n"})
    assert (reply.status_code, _body(reply)["status"]) == (504, "DEADLINE_EXCEEDED")


def test_an_unreachable_backend_is_503(settings: Settings) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for client in _gateway_to(settings, f"127.0.0.1:{port}"):
        reply = client.get("/v1/orders", headers={"Grpc-Timeout": "5S"})
        assert (reply.status_code, _body(reply)["status"], _reason(_body(reply))) == (503, "UNAVAILABLE", "UNAVAILABLE")
