"""The one table from domain errors to gRPC status codes and google.rpc error details (AIP-193)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    LockContention,
    NotFound,
    OrdersError,
    StorageUnavailable,
)

DOMAIN = "orders.erp.example"

# Looked up along the error's MRO, so a subclass inherits its parent's code.
_CODES: dict[type[OrdersError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    LockContention: grpc.StatusCode.ABORTED,
    StorageUnavailable: grpc.StatusCode.UNAVAILABLE,
}

# How long a client should wait before retrying errors that are worth retrying.
_RETRY_AFTER_S: dict[type[OrdersError], float] = {LockContention: 0.05, StorageUnavailable: 1.0}


def code_of(error: OrdersError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in _CODES:
            return _CODES[cls]  # type: ignore[index]
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
    for cls, seconds in _RETRY_AFTER_S.items():
        if isinstance(error, cls):
            details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(nanos=int(seconds * 1e9) % 10**9, seconds=int(seconds))))
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=error.message, details=packed))


INTERNAL = rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message="internal error"))
