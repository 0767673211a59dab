"""JSON Schemas (OpenAPI 3.1) of messages and enums, following the proto3 JSON mapping and the field annotations."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from service.rest import examples, schema_keywords

REF = "#/components/schemas/"
_REQUIRED = field_behavior_pb2.FieldBehavior.REQUIRED
_OUTPUT_ONLY = field_behavior_pb2.FieldBehavior.OUTPUT_ONLY

# Without an example, UIs show a random 80-digit string matching the pattern.
_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$", "example": "1"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]+$", "example": "1"}
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte", "contentEncoding": "base64"},
}
_ZERO: dict[str, Any] = {"string": "", "integer": 0, "number": 0}

# Well-known types whose JSON form is not an object of their fields.
_WRAPPED = {"Double": "double", "Float": "float", "Int64": "int64", "UInt64": "uint64", "Int32": "int32",
            "UInt32": "uint32", "Bool": "bool", "String": "string", "Bytes": "bytes"}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string", "description": "Comma-separated lowerCamelCase field paths."},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Any": {"type": "object", "properties": {"@type": {"type": "string"}}, "required": ["@type"]},
    **{
        f"google.protobuf.{name}Value": {**_SCALARS[getattr(FieldDescriptor, f"TYPE_{kind.upper()}")]}
        for name, kind in _WRAPPED.items()
    },
}


class Schemas:
    """Collects components/schemas while operations ask for references."""

    def __init__(self, comments: dict[str, str]) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._comments = comments
        self._owners: dict[str, str] = {}  # component name → the full name it stands for

    def _claim(self, descriptor: Descriptor | EnumDescriptor) -> str:
        """The component name: the type's name within its package without dots (`Order`, `CreateOrderRequestItem`).
        Generators turn dots into class names such as `ErpOrdersV1Order`; two types with one name are refused."""
        package = descriptor.file.package
        name: str = descriptor.full_name.removeprefix(f"{package}.").replace(".", "")
        owner = self._owners.setdefault(name, descriptor.full_name)
        if owner != descriptor.full_name:
            raise ValueError(f"schema name {name!r} stands for both {owner} and {descriptor.full_name}")
        return name

    def message(self, descriptor: Descriptor) -> dict[str, Any]:
        """A $ref to the message's component (built on first use), or the inline schema of a well-known type."""
        if descriptor.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[descriptor.full_name])
        name = self._claim(descriptor)
        if name not in self.components:
            self.components[name] = {}  # claimed first: messages may refer to themselves
            self.components[name] = self.object(descriptor)
        return {"$ref": REF + name}

    def named(self, name: str, descriptor: Descriptor, without: Collection[str]) -> dict[str, Any]:
        """A $ref to a component `name`: the message less the fields in `without` (e.g. those the path binds)."""
        self._owners.setdefault(name, name)
        if self._owners[name] != name:
            raise ValueError(f"schema name {name!r} is both a request body and {self._owners[name]}")
        self.components[name] = self.object(descriptor, without)
        return {"$ref": REF + name}

    def object(self, descriptor: Descriptor, without: Collection[str] = ()) -> dict[str, Any]:
        properties, required = {}, []
        for field in descriptor.fields:
            if field.name in without:
                continue
            properties[field.json_name] = self.field(field)
            if _REQUIRED in _behaviour(field) or schema_keywords.of(field).required:
                required.append(field.json_name)
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        return self._described(schema, descriptor.full_name)

    def field(self, field: FieldDescriptor, documented: bool = True) -> dict[str, Any]:
        """The field's schema with its buf.validate rules; `documented` adds its comment and readOnly."""
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = self.field(field.message_type.fields_by_name["value"], documented=False)
            schema: dict[str, Any] = {"type": "object", "additionalProperties": value}
        else:
            constraints = schema_keywords.of(field)
            value = self._value(field, constraints)
            if field.name in examples.BY_FIELD_NAME and "$ref" not in value:
                value = {**value, "example": examples.BY_FIELD_NAME[field.name]}
            schema = {"type": "array", "items": value, **constraints.array} if field.is_repeated else value
        if documented:
            if _OUTPUT_ONLY in _behaviour(field):
                schema["readOnly"] = True
            schema = self._described(schema, field.full_name)
        return schema

    def enum(self, descriptor: EnumDescriptor) -> dict[str, Any]:
        name = self._claim(descriptor)
        if name not in self.components:
            names = [v.name for v in descriptor.values]
            notes = {v.name: self._comments.get(f"{descriptor.full_name}.{v.name}") for v in descriptor.values}
            lines = [f"- `{name}`: {note}" for name, note in notes.items() if note]
            schema = self._described({"type": "string", "enum": names}, descriptor.full_name)
            if lines:
                schema["description"] = "\n".join([schema.get("description", ""), "", *lines]).strip()
            self.components[name] = schema
        return {"$ref": REF + name}

    def _value(self, field: FieldDescriptor, constraints: schema_keywords.Constraints) -> dict[str, Any]:
        if field.message_type is not None:
            return self.message(field.message_type)
        if field.enum_type is not None:
            # Rules that narrow an enum list its allowed names inline; otherwise the shared component.
            return {"type": "string", **constraints.value} if constraints.value else self.enum(field.enum_type)
        base = dict(_SCALARS[field.type])
        if not constraints.value:
            return base
        empty_or = _empty_or(constraints.value) if constraints.zero_allowed and base == {"type": "string"} else None
        if empty_or is not None:
            return {**base, **empty_or}
        if constraints.zero_allowed and base["type"] in _ZERO:
            zero = "0" if base.get("format") in ("int64", "uint64") else _ZERO[base["type"]]
            return {**base, "anyOf": [{"const": zero}, constraints.value]}
        return {**base, **constraints.value}

    def _described(self, schema: dict[str, Any], full_name: str) -> dict[str, Any]:
        comment = self._comments.get(full_name)
        return {**schema, "description": comment} if comment else schema


def _empty_or(keywords: dict[str, Any]) -> dict[str, Any] | None:
    """A string's rules with the empty string let through (IGNORE_IF_ZERO_VALUE) as plain keywords: generators turn
    `anyOf: [{const: ""}, …]` into a literal type that refuses every other value. Said for a pattern or an email
    (one pattern: empty, or the rule's) under a maximum length, what our protos use; None for any other rule."""
    if set(keywords) - {"pattern", "format", "maxLength"} or keywords.get("format", "email") != "email":
        return None
    if "pattern" in keywords and "format" in keywords:
        return None
    pattern = schema_keywords.EMAIL_PATTERN if "format" in keywords else keywords.get("pattern")
    length = {k: v for k, v in keywords.items() if k == "maxLength"}
    # A top-level alternation is a union whatever the rule's pattern holds, anchors or none.
    return {**length, "pattern": f"^$|{pattern}"} if pattern else length


def _behaviour(field: FieldDescriptor) -> list[int]:
    return list(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])
