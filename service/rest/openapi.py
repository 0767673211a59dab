"""The OpenAPI 3.1 document, generated from the route table and the descriptors' comments and annotations."""

from __future__ import annotations

import json
from collections.abc import Iterable
import re
from importlib import metadata
from typing import Any

import yaml
from google.rpc import code_pb2

from service.rest import comments, csv_export, error_responses
from service.rest.pathtemplate import collection
from service.rest.routes import Route
from service.rest.schemas import Schemas
from service.grpc.methods import ALL_ROLES, METHODS

JSON_PATH, YAML_PATH = "/openapi.json", "/openapi.yaml"
_JSON = "application/json"
_RESPONSES = "#/components/responses/"
_IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}
_TOKEN_HOWTO = (
    "**Getting a token.** Every call but the health checks needs `Authorization: Bearer <JWT>`, signed "
    "with the service's `ORDERS_JWT_SECRET` (HS256) and carrying the role each operation names ("
    + ", ".join(f"`{role}`" for role in sorted(ALL_ROLES))
    + "). On a development machine, `.venv/bin/erp-orders token --sub you` prints one with every "
    "role, signed with the same secret the service uses; in production your identity provider issues them. "
    "Click **Authorize**, paste the token (without `Bearer`), and every request below sends it."
)
_REQUEST_ID = {"description": "The request's id: the client's X-Request-Id, or one the gateway made.", "schema": {"type": "string"}}
_REPLAYED = {
    "description": "Present when this is the stored response of an earlier request with the same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}


def documents(routes: Iterable[Route]) -> dict[str, tuple[bytes, bytes]]:
    """The document as JSON and YAML, rendered once: path → (content type, body)."""
    doc = document(routes)
    return {
        JSON_PATH: (_JSON.encode(), json.dumps(doc, indent=2).encode()),
        YAML_PATH: (b"application/yaml", yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()),
    }


def document(routes: Iterable[Route]) -> dict[str, Any]:
    notes = comments.load()
    schemas = Schemas(notes)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, str] = {}
    for route in routes:
        service = route.rpc.containing_service
        tags.setdefault(tag(route), notes.get(service.full_name, ""))
        paths.setdefault(route.template.openapi_path, {})[route.http_method.lower()] = _operation(route, schemas, notes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ERP Orders API",
            "version": metadata.version("erp-orders"),
            "description": "REST transcoding of the gRPC API (google.api.http). Errors follow AIP-193.\n\n" + _TOKEN_HOWTO,
        },
        "tags": [{"name": name, "description": text} for name, text in tags.items()],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": {**dict(sorted(schemas.components.items())), "Error": _error_schema()},
            "responses": _error_responses(),
            "parameters": {"IdempotencyKey": _idempotency_key()},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": _TOKEN_HOWTO}},
        },
    }


def tag(route: Route) -> str:
    """The group a person looks for, named after the collection the path starts with: Customers,
    Products, Orders (`stockMovements` would read Stock movements); the service's name otherwise."""
    name = collection(route.template.source)
    if name is None:
        service: str = route.rpc.containing_service.name
        return service
    words = re.findall(r"[A-Za-z][a-z0-9]*", name)
    return " ".join([words[0].capitalize(), *(w.lower() for w in words[1:])])


def _operation(route: Route, schemas: Schemas, notes: dict[str, str]) -> dict[str, Any]:
    text = notes.get(route.rpc.full_name, route.rpc.name)
    policy = METHODS.get(route.grpc_path)
    if policy is not None:
        text += f"\n\nNeeds a token with the role `{policy.role}`."
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [tag(route)],
        "summary": text.split("\n")[0].split(". ")[0].rstrip("."),
        "description": text,
        "parameters": _parameters(route, schemas, notes),
    }
    if route.body:
        operation["requestBody"] = {"required": True, "content": {_JSON: {"schema": _body_schema(route, schemas)}}}
    errors = {str(error_responses.CASES[name].http_status): {"$ref": _RESPONSES + name} for name in error_responses.for_route(route)}
    operation["responses"] = {**_success(route, schemas), **errors, "default": {"$ref": _RESPONSES + "Error"}}
    return operation


def _parameters(route: Route, schemas: Schemas, notes: dict[str, str]) -> list[dict[str, Any]]:
    request = route.request_class.DESCRIPTOR
    parameters: list[dict[str, Any]] = []
    for variable in route.template.variables:
        field = _field(request, variable.field_path)
        schema = schemas.field(field, documented=False)
        parameter = {"name": variable.name, "in": "path", "required": True, "schema": schema}
        parameters.append(_described(parameter, notes, field.full_name))
    seen = set()
    for query_field in route.query.values():
        if query_field.json_path in seen:
            continue  # the same field under its proto name
        seen.add(query_field.json_path)
        schema = schemas.field(query_field.field, documented=False)
        parameter = {"name": ".".join(query_field.json_path), "in": "query", "schema": schema}
        if query_field.repeated:
            parameter.update(style="form", explode=True)
        parameters.append(_described(parameter, notes, query_field.field.full_name))
    if route.mutating:
        parameters.append(_IDEMPOTENCY_KEY)
    return parameters


def _body_schema(route: Route, schemas: Schemas) -> dict[str, Any]:
    request = route.request_class.DESCRIPTOR
    if route.body != "*":
        return schemas.field(request.fields_by_name[route.body], documented=False)
    bound = {v.field_path for v in route.template.variables if "." not in v.field_path}
    return schemas.named(f"{route.operation_id}Body", request, bound) if bound else schemas.message(request)


def _success(route: Route, schemas: Schemas) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": _REQUEST_ID}
    if route.mutating:
        headers["Idempotent-Replayed"] = _REPLAYED
    if route.location is not None:
        headers["Location"] = {"description": "Where the new resource lives.", "required": True, "schema": {"type": "string"}}
    response: dict[str, Any] = {"description": {201: "Created.", 204: "Done; no content."}.get(route.success_status, "OK."), "headers": headers}
    if csv_export.renders(route):
        response["description"] = "CSV (RFC 4180), a header row then one row per line item: " + ", ".join(csv_export.COLUMNS) + "."
        response["content"] = {"text/csv": {"schema": {"type": "string"}}}
    elif route.streaming:
        response["description"] = "Server-Sent Events: each `data` is one message as JSON, each `id` its resume token."
        response["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
    elif route.success_status != 204:
        output = route.response_class.DESCRIPTOR
        schema = schemas.field(output.fields_by_name[route.response_body], documented=False) if route.response_body else schemas.message(output)
        response["content"] = {_JSON: {"schema": schema}}
    return {str(route.success_status): response}


def _field(message: Any, dotted: str) -> Any:
    field = None
    for name in dotted.split("."):
        field = message.fields_by_name[name]
        message = field.message_type
    return field


def _described(parameter: dict[str, Any], notes: dict[str, str], full_name: str) -> dict[str, Any]:
    return {**parameter, "description": notes[full_name]} if full_name in notes else parameter


def _idempotency_key() -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Retries with the same key return the first response (with Idempotent-Replayed: true) instead of acting twice.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    }


def _error_schema() -> dict[str, Any]:
    detail = {"type": "object", "properties": {"@type": {"type": "string"}}, "required": ["@type"]}
    body = {
        "type": "object",
        "properties": {
            "code": {"type": "integer", "description": "The HTTP status code."},
            "message": {"type": "string"},
            "status": {"type": "string", "enum": list(code_pb2.Code.keys()), "description": "The google.rpc.Code name."},
            "details": {"type": "array", "items": detail, "description": "google.rpc error details; an ErrorInfo is always present."},
        },
        "required": ["code", "message", "status", "details"],
    }
    return {"type": "object", "description": "An AIP-193 error.", "properties": {"error": body}, "required": ["error"]}


def _error_responses() -> dict[str, Any]:
    """Each error status with its example, and `Error` for any other status (499, 501)."""
    headers = {
        "X-Request-Id": _REQUEST_ID,
        "Retry-After": {"description": "Seconds to wait before retrying (429 and retryable errors).", "schema": {"type": "integer"}},
    }
    generic = {"description": "An error (AIP-193); the status follows google/rpc/code.proto.", "headers": headers,
               "content": {_JSON: {"schema": error_responses.ERROR_SCHEMA}}}
    cases = {name: error_responses.component(case, headers) for name, case in error_responses.CASES.items()}
    return {**cases, "Error": generic}
