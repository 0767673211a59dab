"""Tests for service.rest.headers: what is forwarded as metadata, deadlines, request ids, response headers."""

from __future__ import annotations

import pytest

from service.rest import headers
from service.rest.http_errors import GatewayError


def _in(**pairs: str) -> headers.Incoming:
    return headers.incoming([(k.replace("_", "-").lower().encode(), v.encode()) for k, v in pairs.items()], 30.0)


def test_only_the_listed_headers_and_grpc_metadata_ones_are_forwarded() -> None:
    got = _in(
        Authorization="Bearer t", Idempotency_Key="k1", X_Request_Id="r1", traceparent="00-abc-def-01",
        Grpc_Metadata_Tenant="acme", Cookie="s=1", Host="example", X_Forwarded_For="10.0.0.1", Content_Type="application/json",
    )
    assert sorted(got.metadata) == sorted([
        ("authorization", "Bearer t"), ("idempotency-key", "k1"), ("traceparent", "00-abc-def-01"),
        ("tenant", "acme"), ("x-request-id", "r1"),
    ])
    assert got.content_type == b"application/json"


def test_a_request_id_is_generated_when_absent_or_unusable() -> None:
    first, second = _in(), _in()
    assert first.request_id and first.request_id != second.request_id
    assert ("x-request-id", first.request_id) in first.metadata
    assert _in(X_Request_Id="has space").request_id != "has space"


def test_binary_grpc_metadata_is_base64_decoded() -> None:
    assert ("trace-bin", b"\x01\x02") in _in(Grpc_Metadata_Trace_Bin="AQI=").metadata


@pytest.mark.parametrize(
    "pairs",
    [{"Grpc_Metadata_Grpc_Status": "0"}, {"Grpc_Metadata_Trace_Bin": "not base64!"}, {"Authorization": "Bearer \u00e9"}, {"Grpc_Timeout": "5 seconds"}],
)
def test_headers_grpc_cannot_carry_are_a_400(pairs: dict[str, str]) -> None:
    with pytest.raises(GatewayError):
        headers.incoming([(k.replace("_", "-").lower().encode(), v.encode("latin-1")) for k, v in pairs.items()], 30.0)


@pytest.mark.parametrize(("value", "seconds"), [("2S", 2.0), ("100m", 0.1), ("1H", 3600.0), ("5M", 300.0), ("250u", 0.00025), ("7n", 7e-9)])
def test_grpc_timeout_uses_the_grpc_wire_format(value: str, seconds: float) -> None:
    assert headers.parse_timeout(value) == pytest.approx(seconds)
    assert _in(Grpc_Timeout=value).timeout_s == pytest.approx(seconds)


def test_without_grpc_timeout_the_configured_default_applies() -> None:
    assert _in().timeout_s == 30.0


def test_replay_metadata_in_either_place_becomes_the_header() -> None:
    assert headers.outgoing([("idempotent-replayed", "true")], None) == [(b"idempotent-replayed", b"true")]
    assert headers.outgoing([], [("idempotent-replayed", "true")]) == [(b"idempotent-replayed", b"true")]
    assert headers.outgoing([("idempotent-replayed", "false")], []) == []
