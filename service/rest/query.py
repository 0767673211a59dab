"""Query parameters: which request fields the query string may set, and parsing it into canonical JSON."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from urllib.parse import parse_qsl

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import code_pb2

from service.rest.http_errors import refuse

# Well-known messages whose JSON form is one string, so one parameter sets them whole.
SCALAR_MESSAGES = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        *(f"google.protobuf.{t}Value" for t in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")),
    }
)
_MAX_DEPTH = 4  # nested messages deeper than this are left to a body


@dataclass(frozen=True)
class QueryField:
    json_path: tuple[str, ...]  # lowerCamelCase names from the request root
    field: FieldDescriptor

    @property
    def repeated(self) -> bool:
        return bool(self.field.is_repeated)


# Every accepted spelling (JSON or proto names, dotted for nesting) → the field it sets.
QueryFields = dict[str, QueryField]


def query_fields(message: Descriptor, bound: set[str]) -> QueryFields:
    """The leaf fields of `message` not bound by path or body (`bound` holds dotted proto paths)."""
    found: QueryFields = {}
    for leaf in _leaves(message, (), bound, 0):
        spellings = itertools.product(*[(f.json_name, f.name) for f in leaf])
        query_field = QueryField(tuple(f.json_name for f in leaf), leaf[-1])
        for spelling in spellings:
            found[".".join(spelling)] = query_field
    return found


def canonical_name(query_field: QueryField) -> str:
    return ".".join(query_field.json_path)


def parse(query_string: bytes, fields: QueryFields) -> dict[str, object]:
    """The query as a nested canonical-JSON dict (values stay strings; json_format converts them)."""
    parsed: dict[str, object] = {}
    try:
        pairs = parse_qsl(query_string.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise refuse(code_pb2.INVALID_ARGUMENT, "INVALID_QUERY", "the query string is malformed") from None
    for name, value in pairs:
        query_field = fields.get(name)
        if query_field is None:
            raise refuse(code_pb2.INVALID_ARGUMENT, "UNKNOWN_FIELD", f"unknown query parameter {name!r}", [(name, "no such field")])
        node = parsed
        for step in query_field.json_path[:-1]:
            child = node.setdefault(step, {})
            assert isinstance(child, dict)  # only messages have children, and they are never leaves
            node = child
        leaf = query_field.json_path[-1]
        typed = _coerce(query_field.field, value)
        if query_field.repeated:
            values = node.setdefault(leaf, [])
            assert isinstance(values, list)
            values.append(typed)
        elif leaf in node:
            raise refuse(
                code_pb2.INVALID_ARGUMENT, "INVALID_ARGUMENT", f"query parameter {name!r} is not repeated",
                [(canonical_name(query_field), "given more than once")],
            )
        else:
            node[leaf] = typed
    return parsed


def _coerce(field: FieldDescriptor, value: str) -> object:
    # json_format takes numbers, enums and well-known types from strings, but booleans only as JSON booleans.
    if field.type == FieldDescriptor.TYPE_BOOL and value in ("true", "false"):
        return value == "true"
    return value


def _leaves(message: Descriptor, prefix: tuple[FieldDescriptor, ...], bound: set[str], depth: int) -> list[tuple[FieldDescriptor, ...]]:
    leaves: list[tuple[FieldDescriptor, ...]] = []
    for field in message.fields:
        path = (*prefix, field)
        dotted = ".".join(f.name for f in path)
        if dotted in bound:
            continue
        nested = field.message_type
        if nested is None or nested.full_name in SCALAR_MESSAGES:
            leaves.append(path)
        elif not field.is_repeated and not nested.GetOptions().map_entry and depth < _MAX_DEPTH:
            # Repeated and map messages have no query form; they go in a body.
            leaves.extend(_leaves(nested, path, bound, depth + 1))
    return leaves
