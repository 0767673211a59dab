"""The route table: one Route per google.api.http binding of the compiled service descriptors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from service.rest import pathtemplate
from service.rest.pathtemplate import PathTemplate
from service.rest.query import QueryFields, query_fields

_PATTERNS = ("get", "put", "post", "delete", "patch")
_EMPTY = "google.protobuf.Empty"


@dataclass(frozen=True)
class Location:
    """How to build the Location header of a Create: the Get template, filled from the created resource."""

    template: PathTemplate

    def of(self, resource: Message) -> str:
        values = {}
        for variable in self.template.variables:
            value: object = resource
            for name in variable.field_path.split("."):
                value = getattr(value, name)
            values[variable.field_path] = str(value)
        return self.template.expand(values)


@dataclass(frozen=True)
class Route:
    http_method: str
    template: PathTemplate
    rpc: MethodDescriptor
    grpc_path: str  # "/erp.orders.v1.OrderService/CreateOrder"
    operation_id: str  # the RPC name, with a suffix for additional bindings
    body: str  # "" (no body), "*" (the whole request) or one top-level field name
    response_body: str  # "" (the whole response) or one top-level field name
    request_class: type[Message]
    response_class: type[Message]
    path_json: dict[str, tuple[str, ...]]  # template variable → JSON path into the request
    query: QueryFields  # the fields left to the query string
    success_status: int
    location: Location | None
    streaming: bool = False  # a server stream, served as text/event-stream (service/rest/sse.py)

    @property
    def mutating(self) -> bool:
        return self.http_method != "GET"


def build(services: Iterable[ServiceDescriptor]) -> list[Route]:
    """Every binding of every annotated method. Raises TemplateError or ValueError on a bad rule."""
    routes: list[Route] = []
    for service in services:
        for method in service.methods:
            if not method.GetOptions().HasExtension(annotations_pb2.http):
                continue
            rule = method.GetOptions().Extensions[annotations_pb2.http]
            bindings = [rule, *rule.additional_bindings]
            for index, binding in enumerate(bindings):
                operation_id = method.name if index == 0 else f"{method.name}{index + 1}"
                routes.append(_route(method, binding, operation_id))
    gets: dict[type[Message], Route] = {}
    for route in routes:
        if route.rpc.name.startswith("Get") and route.http_method == "GET":
            gets.setdefault(route.response_class, route)  # the main binding, not an additional one
    return [_with_location(r, gets.get(r.response_class)) for r in routes]


def _route(method: MethodDescriptor, rule: http_pb2.HttpRule, operation_id: str) -> Route:
    kind = rule.WhichOneof("pattern")
    if kind not in _PATTERNS:
        raise ValueError(f"{method.full_name}: unsupported pattern {kind!r}")
    template = pathtemplate.parse(getattr(rule, kind))
    request = method.input_type
    path_json = {v.field_path: _json_path(request, v.field_path, method) for v in template.variables}
    if rule.body not in ("", "*"):
        _json_path(request, rule.body, method)
    if rule.response_body:
        _json_path(method.output_type, rule.response_body, method)
    bound_by_path = {v.field_path for v in template.variables}
    query = {} if rule.body == "*" else query_fields(request, bound_by_path | {rule.body} - {""})
    status = 204 if method.output_type.full_name == _EMPTY else 201 if method.name.startswith("Create") else 200
    return Route(
        http_method=kind.upper(),
        template=template,
        rpc=method,
        grpc_path=f"/{method.containing_service.full_name}/{method.name}",
        operation_id=operation_id,
        body=rule.body,
        response_body=rule.response_body,
        request_class=message_factory.GetMessageClass(request),
        response_class=message_factory.GetMessageClass(method.output_type),
        path_json=path_json,
        query=query,
        success_status=status,
        location=None,
        streaming=method.server_streaming,
    )


def _with_location(route: Route, get: Route | None) -> Route:
    # AIP-133: a Create returns the resource, and the resource's Get names where it lives.
    if route.success_status != 201 or get is None:
        return route
    try:
        for variable in get.template.variables:
            _json_path(get.response_class.DESCRIPTOR, variable.field_path, get.rpc)
    except ValueError:
        return route  # the Get is addressed by a field the resource does not carry
    return dataclasses.replace(route, location=Location(get.template))


def _json_path(message: object, dotted: str, method: MethodDescriptor) -> tuple[str, ...]:
    """Proto field names → JSON names, checking that every step exists and only the last is a leaf."""
    names: list[str] = []
    descriptor = message
    for part in dotted.split("."):
        field: FieldDescriptor | None = getattr(descriptor, "fields_by_name", {}).get(part)
        if field is None:
            raise ValueError(f"{method.full_name}: no field {dotted!r} in {getattr(message, 'full_name', message)}")
        names.append(field.json_name)
        descriptor = field.message_type
    return tuple(names)
