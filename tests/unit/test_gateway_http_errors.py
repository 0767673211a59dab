"""Tests for service.rest.http_errors: the gRPC → HTTP status table and the AIP-193 body."""

from __future__ import annotations

import json

import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from service.rest import http_errors
from service.grpc.status import DOMAIN

TABLE = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400, "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
    "UNKNOWN": 500, "INTERNAL": 500, "DATA_LOSS": 500,
}


def _status(code: int, *details: object, message: str = "boom") -> status_pb2.Status:
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)  # type: ignore[arg-type]
        packed.append(any_detail)
    return status_pb2.Status(code=code, message=message, details=packed)


@pytest.mark.parametrize(("code", "http"), TABLE.items())
def test_each_code_maps_as_google_rpc_code_proto_says(code: str, http: int) -> None:
    assert http_errors.http_status(code_pb2.Code.Value(code), "") == http


@pytest.mark.parametrize(("reason", "http"), [("IDEMPOTENCY_KEY_REUSED", 422), ("IDEMPOTENCY_KEY_IN_USE", 409)])
def test_idempotency_reasons_override_their_code(reason: str, http: int) -> None:
    assert http_errors.http_status(code_pb2.FAILED_PRECONDITION, reason) == http
    rendered = http_errors.render(_status(code_pb2.FAILED_PRECONDITION, error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN)))
    assert rendered.status == http


def test_the_body_is_aip193_with_every_detail_decoded_in_order() -> None:
    info = error_details_pb2.ErrorInfo(reason="INSUFFICIENT_STOCK", domain=DOMAIN, metadata={"product_ids": "7"})
    failure = error_details_pb2.PreconditionFailure(violations=[error_details_pb2.PreconditionFailure.Violation(type="STOCK", subject="products/7")])
    rendered = http_errors.render(_status(code_pb2.FAILED_PRECONDITION, info, failure, message="short"))
    assert rendered.status == 400
    assert json.loads(rendered.body) == {"error": {"code": 400, "message": "short", "status": "FAILED_PRECONDITION", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INSUFFICIENT_STOCK", "domain": DOMAIN, "metadata": {"product_ids": "7"}},
        {"@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": [{"type": "STOCK", "subject": "products/7"}]},
    ]}}


def test_a_status_without_error_info_gets_one_named_after_its_code() -> None:
    body = json.loads(http_errors.render(_status(code_pb2.UNAVAILABLE)).body)["error"]
    assert body["details"] == [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "UNAVAILABLE", "domain": DOMAIN}]


def test_retry_info_becomes_retry_after_rounded_up_and_a_bare_429_still_gets_one() -> None:
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=0, nanos=50_000_000))
    assert http_errors.render(_status(code_pb2.ABORTED, retry)).headers == [(b"retry-after", b"1")]
    assert http_errors.render(_status(code_pb2.RESOURCE_EXHAUSTED)).headers == [(b"retry-after", b"1")]
    assert http_errors.render(_status(code_pb2.NOT_FOUND)).headers == []


def test_unknown_detail_types_are_named_not_dropped_and_unknown_codes_are_500() -> None:
    stranger = any_pb2.Any(type_url="type.googleapis.com/acme.Secret", value=b"\x08\x01")
    rendered = http_errors.render(status_pb2.Status(code=99, message="?", details=[stranger]))
    body = json.loads(rendered.body)["error"]
    assert (rendered.status, body["status"]) == (500, "UNKNOWN")
    assert {"@type": "type.googleapis.com/acme.Secret"} in body["details"]


def test_refuse_builds_error_info_and_bad_request_and_keeps_an_http_override() -> None:
    error = http_errors.refuse(code_pb2.INVALID_ARGUMENT, "UNSUPPORTED_MEDIA_TYPE", "no", [("Content-Type", "json please")], http_status=415)
    rendered = http_errors.render(error.status, error.http_status)
    details = json.loads(rendered.body)["error"]["details"]
    assert rendered.status == 415
    assert details[0]["reason"] == "UNSUPPORTED_MEDIA_TYPE"
    assert details[1]["fieldViolations"] == [{"field": "Content-Type", "description": "json please"}]
