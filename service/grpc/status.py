"""Any error of ours as a gRPC status, with its google.rpc error details (AIP-193): the code and
reason each error declares, and the details its kind carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, OrdersError

DOMAIN = "orders.erp.example"


@dataclass(frozen=True)
class CallStatus(grpc.Status):
    """A status to end a call with (`context.abort_with_status`): grpc.Status only names these three."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...] = ()

_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


def retry_after_seconds(delay: duration_pb2.Duration) -> int:
    """The Retry-After (RFC 9110) of a RetryInfo's delay: whole seconds, rounded up, at least 1. Both edges
    send it: the gRPC trailer beside the RetryInfo, the REST header from it."""
    seconds: int = delay.seconds + (1 if delay.nanos > 0 else 0)
    return max(1, seconds)


def code_of(error: OrdersError) -> grpc.StatusCode:
    """The gRPC code the error declares (service/domain/errors.py, service/grpc/errors.py)."""
    return _GRPC_CODES[int(error.code)]


def abort(context: grpc.ServicerContext, error: OrdersError) -> NoReturn:
    """Ends the call with the error's status: every error of ours reaches a client through here."""
    context.abort_with_status(to_status(error))
    raise AssertionError("abort_with_status returns only by raising")


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
    if isinstance(error, NotFound):
        details += [error_details_pb2.ResourceInfo(resource_type=error.resource, resource_name=i) for i in error.resource_ids]
    elif isinstance(error, AlreadyExists):
        details.append(error_details_pb2.ResourceInfo(resource_type=error.resource, resource_name=error.metadata.get("id", "")))
    trailing: tuple[tuple[str, str], ...] = ()
    seconds = error.retry_after_s
    if seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(seconds * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        trailing = (("retry-after", str(retry_after_seconds(delay))),)  # for clients that read headers, not details
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    result = rpc_status.to_status(status_pb2.Status(code=code.value[0], message=error.message, details=packed))
    return CallStatus(result.code, result.details, (*result.trailing_metadata, *trailing)) if trailing else result


INTERNAL = rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message="internal error"))
