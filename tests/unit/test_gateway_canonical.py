"""Tests for service.rest.canonical: the same JSON as json_format.MessageToDict (key order included), and the same messages and refusals as ParseDict."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from google.protobuf import message_factory, struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message

from service.grpc.contract import FILES
from service.rest import canonical
from tests.unit import shelves

_SCALARS: dict[int, object] = {
    FieldDescriptor.TYPE_STRING: "ação: 1",
    FieldDescriptor.TYPE_BYTES: b"\x00\xff",
    FieldDescriptor.TYPE_BOOL: True,
    FieldDescriptor.TYPE_DOUBLE: 1.5,
    FieldDescriptor.TYPE_FLOAT: 0.1,
}


def _messages() -> Iterator[Descriptor]:
    seen: set[str] = set()
    stack = [m for f in FILES for s in f.services_by_name.values() for r in s.methods for m in (r.input_type, r.output_type)]
    stack += [m for r in shelves.service().methods for m in (r.input_type, r.output_type)]
    while stack:
        message = stack.pop()
        if message.full_name not in seen:
            seen.add(message.full_name)
            yield message
            stack.extend(f.message_type for f in message.fields if f.message_type is not None)


def _filled(message: Message, depth: int, enum_number: int) -> Message:
    """Every field set to something other than its default (a bare message at the depth limit)."""
    for field in message.DESCRIPTOR.fields if depth < 3 else ():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            if value.message_type is None:
                getattr(message, field.name)[_value(key, enum_number)] = _value(value, enum_number)  # type: ignore[index]
        elif field.message_type is not None:
            if field.message_type.full_name == struct_pb2.Value.DESCRIPTOR.full_name:
                continue  # a Value must hold one of its kinds
            children = [getattr(message, field.name).add()] if field.is_repeated else [getattr(message, field.name)]
            for child in children:
                _filled(child, depth + 1, enum_number) if child.DESCRIPTOR.fields else child.SetInParent()
        elif field.is_repeated:
            getattr(message, field.name).extend([_value(field, enum_number)] * 2)
        else:
            setattr(message, field.name, _value(field, enum_number))
    return message


def _value(field: FieldDescriptor, enum_number: int) -> object:
    if field.enum_type is not None:
        return enum_number
    return _SCALARS.get(field.type, 2**33 + 1 if field.cpp_type in (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64) else 7)


@pytest.mark.parametrize("descriptor", list(_messages()), ids=lambda d: d.full_name)
def test_every_message_of_the_contract_renders_as_json_format_does_empty_filled_and_with_unknown_enum_numbers(
    descriptor: Descriptor,
) -> None:
    cls = message_factory.GetMessageClass(descriptor)
    for message in (cls(), _filled(cls(), 0, 1), _filled(cls(), 0, 99)):
        expected = MessageToDict(message, always_print_fields_with_no_presence=True)
        assert json.dumps(canonical.to_json(message)) == json.dumps(expected)


@pytest.mark.parametrize("descriptor", list(_messages()), ids=lambda d: d.full_name)
def test_every_message_of_the_contract_reads_back_as_parse_dict_reads_it_by_either_field_name(descriptor: Descriptor) -> None:
    cls = message_factory.GetMessageClass(descriptor)
    for message in (cls(), _filled(cls(), 0, 1), _filled(cls(), 0, 99)):
        for proto_names in (False, True):
            document = MessageToDict(message, preserving_proto_field_name=proto_names)
            read, expected = cls(), cls()
            canonical.from_json(document, read)
            ParseDict(document, expected)
            assert read == expected


@pytest.mark.parametrize(
    "document",
    [
        {"customerId": 7},
        {"customerId": "\ud800"},
        {"items": [{"quantity": 2**31}]},
        {"items": [{"quantity": True}]},
        {"items": [{"quantity": 1.5}]},
        {"items": [None]},
        {"items": {"productId": "1"}},
        {"items": [{"productId": "1", "colour": "red"}]},
        {"customerId": "1", "items": [{"productId": "1", "quantity": 1}, {"productId": "2", "quantity": 1, "x": 1}]},
    ],
)
def test_a_body_parse_dict_refuses_is_refused_in_its_words(document: dict[str, object]) -> None:
    cls = next(m for m in _messages() if m.full_name == "erp.orders.v1.CreateOrderRequest")
    request = message_factory.GetMessageClass(cls)
    with pytest.raises(Exception) as expected:
        ParseDict(document, request())
    with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
        canonical.from_json(document, request())


def test_values_it_leaves_to_parse_dict_a_null_or_a_number_in_a_string_are_read_as_parse_dict_reads_them() -> None:
    cls = next(m for m in _messages() if m.full_name == "erp.orders.v1.CreateOrderRequest")
    request = message_factory.GetMessageClass(cls)
    document = {"customerId": None, "note": "n", "items": [{"productId": "3", "quantity": 2}, {"product_id": "4", "quantity": "5"}]}
    read = request()
    canonical.from_json(document, read)
    assert read == ParseDict(document, request())
