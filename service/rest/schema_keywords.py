"""buf.validate field rules → JSON Schema keywords, for the rules JSON Schema can say (CEL cannot be said)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from service import buf_validate

_NUMBERS = (
    "int32", "int64", "uint32", "uint64", "sint32", "sint64",
    "fixed32", "fixed64", "sfixed32", "sfixed64", "float", "double",
)
# 64-bit integers are strings in proto3 JSON, so their listed values are too.
_STRING_NUMBERS = {"int64", "uint64", "sint64", "fixed64", "sfixed64"}
_BOUNDS = {"gt": "exclusiveMinimum", "gte": "minimum", "lt": "exclusiveMaximum", "lte": "maximum"}
_LENGTHS = {"min_len": "minLength", "max_len": "maxLength"}
_FORMATS = ("email", "uuid", "hostname", "uri", "ipv4", "ipv6")
# protovalidate's `email` rule is the HTML standard's valid e-mail address; this is that standard's pattern.
EMAIL_PATTERN = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
# Defined at import by protobuf's descriptor builder, so invisible to type checkers.
_FIELD_EXTENSION = buf_validate.field  # type: ignore[attr-defined]
_IGNORE_IF_ZERO = buf_validate.Ignore.Value("IGNORE_IF_ZERO_VALUE")  # type: ignore[attr-defined]


@dataclass
class Constraints:
    value: dict[str, Any] = field(default_factory=dict)  # on the value, or on each item of a repeated field
    array: dict[str, Any] = field(default_factory=dict)  # on the repeated field itself
    required: bool = False
    zero_allowed: bool = False  # IGNORE_IF_ZERO_VALUE: the zero value passes whatever the rules say


def of(descriptor: FieldDescriptor) -> Constraints:
    options = descriptor.GetOptions()
    if not options.HasExtension(_FIELD_EXTENSION):
        return Constraints()
    rules = options.Extensions[_FIELD_EXTENSION]
    constraints = Constraints(required=rules.required, zero_allowed=rules.ignore == _IGNORE_IF_ZERO)
    kind = rules.WhichOneof("type")
    if kind == "repeated":
        constraints.array = _repeated(rules.repeated)
        if rules.repeated.HasField("items"):
            constraints.value = _scalar(rules.repeated.items, descriptor)
    elif kind is not None:
        constraints.value = _scalar(rules, descriptor)
    return constraints


def _repeated(rules: Message) -> dict[str, Any]:
    keywords: dict[str, Any] = {}
    if rules.HasField("min_items"):
        keywords["minItems"] = rules.min_items
    if rules.HasField("max_items"):
        keywords["maxItems"] = rules.max_items
    if rules.unique:
        keywords["uniqueItems"] = True
    return keywords


def _scalar(rules: Message, descriptor: FieldDescriptor) -> dict[str, Any]:
    kind = rules.WhichOneof("type")
    if kind == "string":
        return _string(rules.string)
    if kind in _NUMBERS:
        return _number(getattr(rules, kind), kind in _STRING_NUMBERS)
    if kind == "enum" and descriptor.enum_type is not None:
        return _enum(rules.enum, descriptor)
    return {}


def _string(rules: Message) -> dict[str, Any]:
    keywords: dict[str, Any] = {}
    for rule, keyword in _LENGTHS.items():
        if rules.HasField(rule):
            keywords[keyword] = getattr(rules, rule)
    if rules.HasField("len"):
        keywords["minLength"] = keywords["maxLength"] = rules.len
    if rules.HasField("pattern"):
        keywords["pattern"] = rules.pattern
    if rules.HasField("const"):
        keywords["const"] = rules.const
    if getattr(rules, "in"):
        keywords["enum"] = list(getattr(rules, "in"))
    well_known = rules.WhichOneof("well_known")
    if well_known in _FORMATS:
        keywords["format"] = well_known
    return keywords


def _number(rules: Message, as_string: bool) -> dict[str, Any]:
    keywords: dict[str, Any] = {}
    for rule, keyword in _BOUNDS.items():
        if rules.HasField(rule):
            keywords[keyword] = getattr(rules, rule)
    show = str if as_string else (lambda n: n)
    if rules.HasField("const"):
        keywords["const"] = show(rules.const)
    if getattr(rules, "in"):
        keywords["enum"] = [show(n) for n in getattr(rules, "in")]
    if rules.not_in:
        keywords["not"] = {"enum": [show(n) for n in rules.not_in]}
    return keywords


def _enum(rules: Message, descriptor: FieldDescriptor) -> dict[str, Any]:
    values = descriptor.enum_type.values
    listed = getattr(rules, "in")
    allowed = [v.name for v in values if (not listed or v.number in listed) and v.number not in rules.not_in]
    if rules.HasField("const"):
        allowed = [v.name for v in values if v.number == rules.const]
    return {"enum": allowed} if len(allowed) < len(values) else {}
