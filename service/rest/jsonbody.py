"""A request's JSON body: parsed in C, and refused when it is ambiguous.

Ambiguous means a key repeated in one object, or one field under both its JSON name and its proto
name (`customerId` and `customer_id`): json, orjson and json_format would all keep the last one
silently. Inside maps and well-known types (Struct, Any, ...) only repeated keys are checked.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import orjson
from google.protobuf.descriptor import Descriptor
from google.rpc import code_pb2

from service.rest.http_errors import GatewayError, refuse


def parse(body: bytes, message: Descriptor | None) -> object:
    """The body's JSON, checked against `message` (None: a body that is not a message). Raises
    GatewayError (400): INVALID_JSON, or DUPLICATE_FIELD naming the field."""
    if not body:
        return {}  # no body means no fields, as with an empty gRPC message
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # What orjson refuses and json takes (NaN, integers over 64 bits) goes on to json_format as
        # before, and what both refuse keeps json's wording.
        document = _strict(body)
    # Every key is followed by a colon, so when the body has no more colons than the parsed objects
    # have keys, no key was repeated. Otherwise (a colon in a string, or a repeat) json reads it
    # again keeping every key, and the check names the repeat.
    if _check(document, message) != body.count(b":"):
        _check(_strict(body), message)
    return document


class _Repeated(dict[str, object]):
    """An object in which `key` appeared more than once."""

    def __init__(self, pairs: list[tuple[str, object]], key: str) -> None:
        super().__init__(pairs)
        self.key = key


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _Repeated(pairs, key)
        seen.add(key)
    raise AssertionError("a shorter dict has a repeated key")


def _strict(body: bytes) -> object:
    try:
        return json.loads(body, object_pairs_hook=_object)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise invalid("INVALID_JSON", "the body is not valid JSON", "", str(error)) from None


def _check(value: object, message: Descriptor | None) -> int:
    """The number of keys in `value`, at any depth; raises on an ambiguous object."""
    try:
        return _keys(value, message)
    except _Ambiguous as found:
        name = ".".join(reversed(found.path)).replace(".[", "[")
        raise invalid("DUPLICATE_FIELD", f"{name} {found.message}", name, found.description) from None
    except RecursionError:
        raise invalid("INVALID_JSON", "the body is not valid JSON", "", "nested too deeply") from None


class _Ambiguous(Exception):
    """Raised where the ambiguity is; each level it passes adds its step to `path` (innermost first)."""

    def __init__(self, name: str, message: str, description: str) -> None:
        self.path = [name]
        self.message = message
        self.description = description


def _keys(value: object, message: Descriptor | None) -> int:
    if isinstance(value, list):
        count = 0
        for i, item in enumerate(value):
            try:
                count += _keys(item, message)
            except _Ambiguous as found:
                found.path.append(f"[{i}]")
                raise
        return count
    if not isinstance(value, dict):
        return 0
    if isinstance(value, _Repeated):
        raise _Ambiguous(value.key, "is given more than once", "given more than once")
    fields = _fields(message) if message is not None else {}
    count = len(value)
    seen: dict[str, str] = {}
    for key, item in value.items():
        field = fields.get(key)
        if field is not None:
            other = seen.setdefault(field.name, key)
            if other != key:
                raise _Ambiguous(field.json_name, f"is given twice, as {other} and {key}", f"given as both {other} and {key}")
        if isinstance(item, (dict, list)):
            try:
                count += _keys(item, field.nested if field is not None else None)
            except _Ambiguous as found:
                found.path.append(key)
                raise
    return count


@dataclass(frozen=True)
class _Field:
    name: str
    json_name: str
    nested: Descriptor | None  # a message whose own fields are checked too: not a map, not a well-known type


@functools.cache
def _fields(message: Descriptor) -> dict[str, _Field]:
    """Every spelling of each field of `message`: its JSON name and its proto name."""
    fields = {}
    for f in message.fields:
        nested = f.message_type
        if nested is not None and (nested.GetOptions().map_entry or nested.full_name.startswith("google.protobuf.")):
            nested = None
        fields[f.name] = fields[f.json_name] = _Field(f.name, f.json_name, nested)
    return fields


def join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def invalid(reason: str, message: str, field: str, description: str) -> GatewayError:
    """A 400 INVALID_ARGUMENT naming the offending field of the request."""
    return refuse(code_pb2.INVALID_ARGUMENT, reason, message, [(field, description)])
