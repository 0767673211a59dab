"""HTTP request → request message (path variables, query and JSON body by the binding), and response → JSON."""

from __future__ import annotations

import re

import orjson
from google.protobuf import descriptor_pool, json_format
from google.protobuf.message import Message

from service.rest import canonical, jsonbody, query
from service.rest.jsonbody import invalid, join
from service.rest.routes import Route
from service.grpc.violation_text import enum_choices

# json_format names the failing field in one of these forms, depending on where it failed.
_UNKNOWN = re.compile(r'has no field named "([^"]+)" at "([^"]+)"')
_AT = re.compile(r" at ([A-Za-z_][\w.\[\]]*?)\.*$")
_CHAIN = re.compile(r"Failed to parse (\w+) field")
_PYTHON_INT = re.compile(r"invalid literal for int\(\) with base 10: (.*)")
_BAD_ENUM = re.compile(r"Invalid enum value (\S+) for enum type (\S+)")
_BAD_TIME = re.compile(r"does not match format '%Y-%m-%dT%H:%M:%S'|Failed to parse timestamp|Invalid timestamp")
_MASK = "update_mask"  # AIP-134's field mask, on every Update request


def request(route: Route, path_values: dict[str, str], query_string: bytes, body: bytes) -> Message:
    """The request message. Raises GatewayError (400) naming the offending field."""
    message = route.request_class()
    implied: list[str] | None = None
    if route.body:
        request_type = route.request_class.DESCRIPTOR
        document = jsonbody.parse(body, request_type if route.body == "*" else request_type.fields_by_name[route.body].message_type)
        if route.body == "*":
            if not isinstance(document, dict):
                raise invalid("INVALID_BODY", "the body must be a JSON object", "", f"got a JSON {type(document).__name__}")
            _reject_path_fields(route, document)
        else:
            implied = _implied_mask(route, document)
            document = {route.body: document}
        _parse(document, message)
    params = query.parse(query_string, route.query) if query_string else {}
    for variable, value in path_values.items():
        node = params
        *parents, leaf = route.path_json[variable]
        for step in parents:
            node = node.setdefault(step, {})  # type: ignore[assignment]
        node[leaf] = value
    if params:
        # Merged over the body, so the path wins for the fields it binds.
        bound = route.request_class()
        _parse(params, bound)
        message.MergeFrom(bound)
    if implied is not None and not message.HasField(_MASK):
        message.update_mask.paths.extend(implied)
    return message


def _implied_mask(route: Route, document: object) -> list[str] | None:
    """A PATCH without `updateMask` updates the fields its JSON body names, as grpc-gateway does:
    `{"active": false}` sets active to false. Without this the gRPC rule of no mask (every field
    set to a non-default value, AIP-134) would drop false, 0 and "" without a word. Top-level keys
    only: our resources replace a message field (a price) as a whole."""
    fields = route.request_class.DESCRIPTOR.fields_by_name
    if route.http_method != "PATCH" or _MASK not in fields or not isinstance(document, dict):
        return None
    resource = fields[route.body].message_type
    if resource is None:
        return None
    by_json: dict[str, str] = {f.json_name: f.name for f in resource.fields}
    # Unknown keys are left as they are: parsing the body refuses them with their own message. The
    # id names the resource (the path binds it), so a body that repeats it does not "update" it.
    return [name for name in (by_json.get(str(key), str(key)) for key in document) if name != "id"]


def response(route: Route, message: Message) -> bytes:
    """Canonical proto3 JSON: lowerCamelCase, enums by name, 64-bit integers as strings, defaults included."""
    document = canonical.to_json(message)
    if route.response_body:
        # Picked from the whole message's JSON, so scalar and repeated fields render canonically too.
        document = document.get(message.DESCRIPTOR.fields_by_name[route.response_body].json_name)  # type: ignore[attr-defined]
    return orjson.dumps(document)


def _reject_path_fields(route: Route, document: dict[str, object]) -> None:
    for variable, json_path in route.path_json.items():
        for name in {variable, json_path[0]} & document.keys():
            raise invalid("FIELD_BOUND_BY_PATH", f"{name} is set by the URL path", name, "set by the URL path, not the body")


def _parse(document: object, message: Message) -> None:
    try:
        canonical.from_json(document, message)
    except (json_format.ParseError, TypeError, ValueError, RecursionError) as error:
        text = str(error)
        unknown = _UNKNOWN.search(text)
        if unknown:
            field = join(_relative(unknown.group(2)), unknown.group(1))
            raise invalid("UNKNOWN_FIELD", f"unknown field {field!r}", field, "no such field") from None
        first = text.split("\n")[0]
        at = _AT.search(first)
        field = (_relative(at.group(1)) if at else "") or ".".join(_CHAIN.findall(first))
        description = (first[: at.start()] if at else first).rsplit(" field: ", 1)[-1]
        description = _PYTHON_INT.sub(r"Couldn't parse integer: \1", description).rstrip(".")
        description = _in_words(description)
        raise invalid("INVALID_FIELD_VALUE", f"invalid value for {field or 'the request'}: {description}", field, description) from None


def _in_words(description: str) -> str:
    """json_format's messages for a bad enum name or timestamp, as a person would want them."""
    enum = _BAD_ENUM.search(description)
    if enum:
        try:
            choices = enum_choices(descriptor_pool.Default().FindEnumTypeByName(enum.group(2)))
        except KeyError:
            return description
        return f"must be one of {choices}, not {enum.group(1)}"
    if _BAD_TIME.search(description):
        # A bare date is refused rather than guessed: as create_time_to it could mean the start of
        # that day or its end.
        return "must be an RFC 3339 timestamp with a time and a zone, such as 2026-12-01T00:00:00Z"
    return description


def _relative(path: str) -> str:
    # "CreateOrderRequest.items[0].quantity" → "items[0].quantity"
    return path.partition(".")[2]


