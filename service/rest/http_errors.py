"""The one table from gRPC status to HTTP status, and the AIP-193 JSON error body built from a google.rpc.Status."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import grpc
from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from service.grpc.status import DOMAIN, retry_after_seconds

# google/rpc/code.proto's HTTP mapping; any code not listed is a 500.
HTTP_STATUS: dict[int, int] = {
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNAUTHENTICATED: 401,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.ABORTED: 409,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.CANCELLED: 499,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DEADLINE_EXCEEDED: 504,
}

# ErrorInfo reasons whose meaning HTTP can say more precisely than their gRPC code.
REASON_STATUS: dict[str, int] = {"IDEMPOTENCY_KEY_REUSED": 422, "IDEMPOTENCY_KEY_IN_USE": 409}

# A 429 always tells the client when to come back, even when the server gave no RetryInfo.
_DEFAULT_RETRY_AFTER_S = 1

_STATUS_DETAILS = "grpc-status-details-bin"
_M = TypeVar("_M", bound=Message)


class GatewayError(Exception):
    """A request the gateway answers itself, without (or instead of) a gRPC call."""

    def __init__(
        self, status: status_pb2.Status, http_status: int | None = None, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        super().__init__(status.message)
        self.status = status
        self.http_status = http_status
        self.headers = headers or []


@dataclass(frozen=True)
class HttpError:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]


def refuse(
    code: int,
    reason: str,
    message: str,
    violations: Iterable[tuple[str, str]] = (),
    http_status: int | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> GatewayError:
    """A GatewayError with an ErrorInfo, plus a BadRequest when field violations (field, description) are given."""
    details = [error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN)]
    field_violations = [error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations]
    if field_violations:
        details.append(error_details_pb2.BadRequest(field_violations=field_violations))
    status = status_pb2.Status(code=code, message=message, details=[_pack(d) for d in details])
    return GatewayError(status, http_status, headers)


def status_of(
    code: grpc.StatusCode, details: str, trailing_metadata: Iterable[tuple[str, str | bytes]] | None
) -> status_pb2.Status:
    """The google.rpc.Status of a failed call: the rich one from grpc-status-details-bin when the server sent it."""
    for key, value in trailing_metadata or ():
        if key == _STATUS_DETAILS and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return status_pb2.Status(code=code.value[0], message=details)


def status_of_error(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    return status_of(error.code(), error.details() or "", error.trailing_metadata())


def http_status(code: int, reason: str) -> int:
    return REASON_STATUS.get(reason) or HTTP_STATUS.get(code, 500)


def render(status: status_pb2.Status, override: int | None = None) -> HttpError:
    """The AIP-193 body for a status. Every body carries an ErrorInfo; one is added when the status had none."""
    details: list[dict[str, object]] = []
    reason, retry_after = "", None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            reason = _unpack(detail, error_details_pb2.ErrorInfo).reason
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry_after = retry_after_seconds(_unpack(detail, error_details_pb2.RetryInfo).retry_delay)
        details.append(_to_json(detail))
    code_name = code_pb2.Code.Name(status.code) if status.code in code_pb2.Code.values() else "UNKNOWN"
    if not reason:
        reason = code_name
        details.insert(0, _to_json(_pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN))))
    http = override or http_status(status.code, reason)
    if http == 429 and retry_after is None:
        retry_after = _DEFAULT_RETRY_AFTER_S
    body = {"error": {"code": http, "message": status.message, "status": code_name, "details": details}}
    headers = [] if retry_after is None else [(b"retry-after", str(retry_after).encode())]
    return HttpError(http, json.dumps(body, separators=(",", ":")).encode(), headers)


def _pack(detail: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def _unpack(detail: any_pb2.Any, cls: type[_M]) -> _M:
    message: _M = cls()
    detail.Unpack(message)
    return message


def _to_json(detail: any_pb2.Any) -> dict[str, object]:
    try:
        fields: dict[str, object] = json_format.MessageToDict(detail)
        return fields
    except (TypeError, KeyError, json_format.Error):
        # A detail type this process does not know: name it rather than drop it or fail.
        return {"@type": detail.type_url}
