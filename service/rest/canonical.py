"""Messages ↔ canonical proto3 JSON objects, as json_format makes and reads them, with the work per
field type done once.

json_format decides how to treat each field on every call; that was most of a REST create's
transcoding time. Here each message type gets a plan once: per field its JSON name and a converter,
and the defaults to add. What a plan does not cover (maps, floating point, well-known types other
than Timestamp and Duration, enums with custom JSON names, extensions) goes to json_format itself.
Reading, the plan takes only values of exactly the expected JSON type (a string for a string, an
integer for an integer, a known name for an enum, an object for a message, a list for a repeated
field); anything else (a null, a number in a string, an unknown key, a oneof) is read again by
json_format, so what is accepted, and every refusal's wording, is json_format's.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

Convert = Callable[[object], object]

_STRING_LIKE: dict[int, Convert] = {
    FieldDescriptor.TYPE_STRING: lambda value: value,
    FieldDescriptor.TYPE_BYTES: lambda value: base64.b64encode(value).decode("utf-8"),  # type: ignore[arg-type]
}
_AS_IS = frozenset({FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_BOOL})
_QUOTED = frozenset({FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64})
_AS_STRING = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration"})


def to_json(message: Message) -> object:
    """The message's canonical JSON: lowerCamelCase, enums by name, 64-bit integers as strings, defaults included."""
    plan = _plan(message.DESCRIPTOR)
    if plan is None:
        return _generic(message)
    js: dict[str, object] = {}
    for field, value in message.ListFields():
        entry = plan.fields.get(field)
        if entry is None:
            return _generic(message)  # an extension
        js[entry[0]] = entry[1](value)
    for name, default in plan.defaults:
        if name not in js:
            js[name] = [] if default is _LIST else default
    return js


def from_json(document: object, message: Message) -> None:
    """Fills the empty `message` as json_format.ParseDict(document, message) would, raising what it raises."""
    try:
        _read(document, message, 0)
    except (_Unplanned, ValueError, TypeError):
        message.Clear()
        json_format.ParseDict(document, message)


def _read(document: object, message: Message, depth: int) -> None:
    readers = _readers(message.DESCRIPTOR)
    if readers is None or type(document) is not dict or depth >= _MAX_DEPTH:
        raise _Unplanned(message.DESCRIPTOR.full_name)
    for key, value in document.items():
        reader = readers.get(key)
        if reader is None:
            raise _Unplanned(key)
        reader(message, value, depth)


_MAX_DEPTH = 100  # json_format's own limit, past which it refuses


Read = Callable[[Message, object, int], None]


@functools.cache
def _readers(message: Descriptor) -> dict[str, Read] | None:
    """Per spelling of each field (JSON and proto name), how to read its value into a message."""
    if message.full_name.startswith("google.protobuf.") or any(len(o.fields) > 1 for o in message.oneofs):
        return None  # a oneof's fields set together are json_format's to refuse
    try:
        readers = {f.name: _reader(f) for f in message.fields}
    except _Unplanned:
        return None
    return {**readers, **{f.json_name: readers[f.name] for f in message.fields}}


def _reader(field: FieldDescriptor) -> Read:
    name = field.name
    if field.message_type is not None:
        if field.message_type.GetOptions().map_entry:
            raise _Unplanned(field.full_name)
        if field.is_repeated:
            def read_messages(message: Message, values: object, depth: int) -> None:
                for value in _list(values):
                    _read(value, getattr(message, name).add(), depth + 1)
            return read_messages

        def read_message(message: Message, value: object, depth: int) -> None:
            child = getattr(message, name)
            child.SetInParent()
            _read(value, child, depth + 1)
        return read_message
    one = _scalar_reader(field)
    if field.is_repeated:
        return lambda message, values, _: getattr(message, name).extend([one(v) for v in _list(values)])
    return lambda message, value, _: setattr(message, name, one(value))


def _scalar_reader(field: FieldDescriptor) -> Convert:
    if field.enum_type is not None:
        _enum(field.enum_type)  # the same enums as for writing: no custom JSON names
        numbers = {v.name: v.number for v in field.enum_type.values}
        return lambda name: numbers[name] if type(name) is str and name in numbers else _unplanned()
    if field.type == FieldDescriptor.TYPE_STRING:
        return lambda value: value if type(value) is str else _unplanned()
    if field.cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        return lambda value: value if type(value) is bool else _unplanned()
    if field.cpp_type in _AS_IS or field.cpp_type in _QUOTED:
        return lambda value: value if type(value) is int else _unplanned()  # the message checks the range
    raise _Unplanned(field.full_name)


def _list(values: object) -> list[object]:
    return values if type(values) is list else _unplanned()


def _unplanned() -> Any:
    raise _Unplanned()


def _generic(message: Message) -> object:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


_LIST = object()  # the default of a repeated field: a new empty list each time


@dataclass(frozen=True)
class _Plan:
    fields: dict[FieldDescriptor, tuple[str, Convert]]  # in ListFields' order when rendered
    defaults: list[tuple[str, object]]  # fields without presence, in declaration order, as json_format adds them


class _Unplanned(Exception):
    """A field this module leaves to json_format."""


@functools.cache
def _plan(message: Descriptor) -> _Plan | None:
    if message.full_name.startswith("google.protobuf."):
        return None
    try:
        fields = {f: (f.json_name, _converter(f)) for f in message.fields}
    except _Unplanned:
        return None
    defaults = [
        (f.json_name, _LIST if f.is_repeated else fields[f][1](f.default_value)) for f in message.fields if not f.has_presence
    ]
    return _Plan(fields, defaults)


def _converter(field: FieldDescriptor) -> Convert:
    one = _scalar(field)
    if not field.is_repeated:
        return one
    return lambda values: [one(v) for v in values]  # type: ignore[attr-defined]


def _scalar(field: FieldDescriptor) -> Convert:
    if field.message_type is not None:
        if field.message_type.GetOptions().map_entry:
            raise _Unplanned(field.full_name)
        if field.message_type.full_name in _AS_STRING:
            return lambda value: value.ToJsonString()  # type: ignore[attr-defined]
        return to_json
    if field.enum_type is not None:
        return _enum(field.enum_type)
    if field.type in _STRING_LIKE:
        return _STRING_LIKE[field.type]
    if field.cpp_type in _AS_IS:
        return lambda value: value
    if field.cpp_type in _QUOTED:
        return str
    raise _Unplanned(field.full_name)  # float and double: NaN, infinities and float32's shortest form


def _enum(enum: EnumDescriptor) -> Convert:
    if enum.full_name == "google.protobuf.NullValue" or enum.is_closed or any(v.GetOptions().ListFields() for v in enum.values):
        raise _Unplanned(enum.full_name)
    names = {v.number: v.name for v in enum.values}
    return lambda number: names.get(number, number)
