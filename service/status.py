"""The one table from domain errors to gRPC status codes and google.rpc error details (AIP-193)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    IdempotencyKeyInUse,
    InvalidArgument,
    LockContention,
    NotFound,
    OrdersError,
    PermissionDenied,
    RateLimited,
    Stale,
    StorageUnavailable,
    Unauthenticated,
)

DOMAIN = "orders.erp.example"


@dataclass(frozen=True)
class CallStatus(grpc.Status):
    """A status to end a call with (`context.abort_with_status`): grpc.Status only names these three."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...] = ()

# Looked up along the error's MRO, so a subclass inherits its parent's code.
_CODES: dict[type[OrdersError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    LockContention: grpc.StatusCode.ABORTED,
    Stale: grpc.StatusCode.ABORTED,
    StorageUnavailable: grpc.StatusCode.UNAVAILABLE,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,
    IdempotencyKeyInUse: grpc.StatusCode.ABORTED,
}

# How long a client should wait before retrying errors that are worth retrying.
_RETRY_AFTER_S: dict[type[OrdersError], float] = {LockContention: 0.05, StorageUnavailable: 1.0, IdempotencyKeyInUse: 0.5}


def retry_after_s(error: OrdersError) -> float | None:
    if isinstance(error, RateLimited):
        return error.retry_after_s
    return next((s for cls, s in _RETRY_AFTER_S.items() if isinstance(error, cls)), None)


def code_of(error: OrdersError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return grpc.StatusCode.INTERNAL


def to_status(error: OrdersError) -> grpc.Status:
    code = code_of(error)
    details = [error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)]
    if isinstance(error, InvalidArgument):
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description, reason=v.reason)
                    for v in error.violations
                ]
            )
        )
    if isinstance(error, FailedPrecondition) and error.violations:
        details.append(
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(type=v.type, subject=v.subject, description=v.description)
                    for v in error.violations
                ]
            )
        )
    if isinstance(error, (NotFound, AlreadyExists)):
        details.append(error_details_pb2.ResourceInfo(resource_type=error.resource, resource_name=error.metadata.get("id", "")))
    trailing: tuple[tuple[str, str], ...] = ()
    seconds = retry_after_s(error)
    if seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(seconds * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        # For clients that read headers, not details: whole seconds, rounded up (RFC 9110 Retry-After).
        trailing = (("retry-after", str(max(1, -(-int(seconds * 1000) // 1000)))),)
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    result = rpc_status.to_status(status_pb2.Status(code=code.value[0], message=error.message, details=packed))
    return CallStatus(result.code, result.details, (*result.trailing_metadata, *trailing)) if trailing else result


INTERNAL = rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message="internal error"))
