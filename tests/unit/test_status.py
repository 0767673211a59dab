"""Errors as gRPC statuses: the code and reason each error declares, and the google.rpc details of its kind."""

from __future__ import annotations

import inspect

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2

from service.grpc import errors as edge_errors, status
from service.domain import errors
from service.domain.errors import (
    AlreadyExists,
    FieldViolation,
    InsufficientStock,
    InvalidArgument,
    LockContention,
    NotDeleted,
    NotFound,
    Shortage,
    StorageUnavailable,
)


def _details(error: Exception) -> tuple[grpc.StatusCode, dict[str, object]]:
    s = status.to_status(error)  # type: ignore[arg-type]
    proto = status_pb2.Status()
    proto.ParseFromString(dict(s.trailing_metadata)["grpc-status-details-bin"])
    found: dict[str, object] = {}
    for any_detail in proto.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.PreconditionFailure,
                     error_details_pb2.RetryInfo, error_details_pb2.ResourceInfo):
            if any_detail.Is(kind.DESCRIPTOR):
                message = kind()
                any_detail.Unpack(message)
                found[kind.__name__] = message
    return s.code, found


def test_subclasses_inherit_their_parents_code() -> None:
    assert status.code_of(InsufficientStock([])) == grpc.StatusCode.FAILED_PRECONDITION
    assert status.code_of(NotDeleted("product", "1")) == grpc.StatusCode.ALREADY_EXISTS


def test_invalid_argument_carries_a_bad_request_per_field() -> None:
    code, details = _details(InvalidArgument([FieldViolation("items[0].quantity", "must be > 0", "int32.gt")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details["BadRequest"].field_violations[0].field == "items[0].quantity"  # type: ignore[attr-defined]
    assert details["ErrorInfo"].domain == status.DOMAIN  # type: ignore[attr-defined]


def test_insufficient_stock_carries_a_precondition_failure_per_product() -> None:
    code, details = _details(InsufficientStock([Shortage("3", 5, 2)]))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert details["ErrorInfo"].reason == "INSUFFICIENT_STOCK"  # type: ignore[attr-defined]
    assert details["PreconditionFailure"].violations[0].subject == "products/3"  # type: ignore[attr-defined]


def test_retryable_errors_say_when_to_retry() -> None:
    for error, code in ((LockContention(5), grpc.StatusCode.ABORTED), (StorageUnavailable(), grpc.StatusCode.UNAVAILABLE)):
        got, details = _details(error)
        assert got == code
        assert "RetryInfo" in details


def test_not_found_and_already_exists_name_the_resource() -> None:
    assert _details(NotFound("order", "9"))[1]["ResourceInfo"].resource_type == "order"  # type: ignore[attr-defined]
    assert _details(AlreadyExists("customer", "email", "a@b.c"))[0] == grpc.StatusCode.ALREADY_EXISTS


def test_every_error_the_service_raises_declares_a_code_and_a_reason_of_its_own_kind() -> None:
    raised = [
        cls for module in (errors, edge_errors) for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, errors.OrdersError) and cls is not errors.OrdersError
    ]
    assert len(raised) > 20
    for cls in raised:
        assert cls.code != errors.Code.INTERNAL, cls  # INTERNAL is for what nobody raised on purpose
        assert grpc.StatusCode[cls.code.name].value[0] == cls.code.value, cls


def test_edge_errors_map_without_borrowing_a_parent_code() -> None:
    code, details = _details(edge_errors.WatchTooSlow("token"))
    assert code == grpc.StatusCode.ABORTED and details["ErrorInfo"].reason == "WATCH_TOO_SLOW"  # type: ignore[attr-defined]
    assert not issubclass(edge_errors.WatchTooSlow, LockContention)
    assert status.code_of(edge_errors.TooManyWatchers()) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status.code_of(edge_errors.IdempotencyKeyInUse()) == grpc.StatusCode.ABORTED


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one() -> None:
    # The one rounding behind both edges' Retry-After: the gRPC trailer and the REST header.
    delays = [(0, 0), (0, 1_000_000), (0, 500_000_000), (1, 0), (1, 400_000), (3, 1), (59, 999_000_000), (60, 0)]
    got = [status.retry_after_seconds(duration_pb2.Duration(seconds=s, nanos=n)) for s, n in delays]
    assert got == [1, 1, 1, 1, 2, 4, 60, 60]
