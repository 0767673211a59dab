"""The error statuses an operation can answer, each as an OpenAPI response with a realistic AIP-193 example."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.rest.routes import Route
from service.grpc.methods import METHODS
from service.grpc.status import DOMAIN

ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


@dataclass(frozen=True)
class ErrorCase:
    """One HTTP status as the gateway answers it: its google.rpc.Code name, an ErrorInfo reason and a message."""

    http_status: int
    code: str
    reason: str
    message: str
    description: str
    field: str = ""  # set when the answer carries a BadRequest naming this field

    def example(self) -> dict[str, Any]:
        details: list[dict[str, Any]] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason, "domain": DOMAIN}]
        if self.field:
            violation = {"field": self.field, "description": self.message}
            details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]})
        return {"error": {"code": self.http_status, "message": self.message, "status": self.code, "details": details}}


# Keyed by the component name each becomes under components/responses.
CASES: dict[str, ErrorCase] = {
    "InvalidArgument": ErrorCase(
        400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "quantity: value must be greater than 0",
        "The request is invalid (INVALID_ARGUMENT), or the state refuses it (FAILED_PRECONDITION, e.g. short stock).",
        field="items[0].quantity",
    ),
    "Unauthenticated": ErrorCase(
        401, "UNAUTHENTICATED", "UNAUTHENTICATED", "missing bearer token", "No valid token (Authorization: Bearer <JWT>).",
    ),
    "PermissionDenied": ErrorCase(
        403, "PERMISSION_DENIED", "PERMISSION_DENIED", "the token lacks the role orders.write", "The token lacks the role the operation needs.",
    ),
    "NotFound": ErrorCase(404, "NOT_FOUND", "NOT_FOUND", "order 42 not found", "The resource the path names does not exist."),
    "Conflict": ErrorCase(
        409, "ABORTED", "IDEMPOTENCY_KEY_IN_USE", "the idempotency key is held by a call still running",
        "A call with the same Idempotency-Key is still running (retry later), or the resource already exists (ALREADY_EXISTS).",
    ),
    "BodyTooLarge": ErrorCase(
        413, "RESOURCE_EXHAUSTED", "BODY_TOO_LARGE", "the body is larger than 1048576 bytes", "The body is over the gateway's limit.",
        field="body",
    ),
    "UnsupportedMediaType": ErrorCase(
        415, "INVALID_ARGUMENT", "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json, not text/plain",
        "The body is not application/json.", field="Content-Type",
    ),
    "IdempotencyKeyReused": ErrorCase(
        422, "INVALID_ARGUMENT", "IDEMPOTENCY_KEY_REUSED", "was already used with a different request",
        "The Idempotency-Key was already used with a different request.", field="idempotency-key",
    ),
    "RateLimited": ErrorCase(
        429, "RESOURCE_EXHAUSTED", "RATE_LIMITED", "rate limit exceeded; retry after 1 s", "Too many calls: wait Retry-After seconds.",
    ),
    "HeadersTooLarge": ErrorCase(
        431, "RESOURCE_EXHAUSTED", "HEADERS_TOO_LARGE", "the forwarded headers exceed 7168 bytes", "The forwarded headers are over 7 KiB.",
    ),
    "Internal": ErrorCase(500, "INTERNAL", "INTERNAL", "internal error", "A failure of the service; the logs hold its X-Request-Id."),
    "Unavailable": ErrorCase(
        503, "UNAVAILABLE", "STORAGE_UNAVAILABLE", "the database is unavailable", "The service cannot reach a dependency: retry the call.",
    ),
    "DeadlineExceeded": ErrorCase(
        504, "DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED", "deadline exceeded", "The call outlasted its deadline (Grpc-Timeout or the default).",
    ),
}


def for_route(route: Route) -> list[str]:
    """The names of the error responses `route` can answer, in status order."""
    names = ["InvalidArgument"]
    if route.grpc_path in METHODS:
        names += ["Unauthenticated", "PermissionDenied"]
    if route.template.variables:
        names.append("NotFound")
    if route.mutating:
        names += ["Conflict", "IdempotencyKeyReused"]
    if route.body:
        names += ["BodyTooLarge", "UnsupportedMediaType"]
    names += ["RateLimited", "HeadersTooLarge", "Internal", "Unavailable", "DeadlineExceeded"]
    return sorted(names, key=lambda name: CASES[name].http_status)


def component(case: ErrorCase, headers: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": case.description,
        "headers": headers,
        "content": {"application/json": {"schema": ERROR_SCHEMA, "example": case.example()}},
    }
