"""Checks requests against their buf.validate rules before anything runs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import protovalidate
from google.protobuf import descriptor_pool
from google.protobuf.message import DecodeError, Message

from service.buf_validate import FILE_NAME as VALIDATE_PROTO
from service.domain.errors import FieldViolation, InvalidArgument
from service.grpc.errors import MalformedRequest
from service.grpc.violation_text import describe, field_at

_validator = protovalidate.Validator()


@dataclass(frozen=True)
class Malformed:
    """Request bytes that do not parse as the method's request message (not protobuf, or a string
    field that is not UTF-8)."""

    message_type: str


def tolerant(deserialize: Callable[[bytes], Any] | None, method: str) -> Callable[[bytes], Any]:
    """A request deserializer for `method` (/package.Service/Method) that returns Malformed instead
    of raising: grpcio answers a deserializer's exception itself, as INTERNAL, before any
    interceptor runs."""
    try:
        message_type = descriptor_pool.Default().FindMethodByName(method.lstrip("/").replace("/", ".")).input_type.full_name
    except KeyError:
        message_type = "request message"

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data) if deserialize is not None else data
        except DecodeError:
            return Malformed(message_type)

    return parse


def validate(request: Message | Malformed) -> None:
    """Raises InvalidArgument naming every violated field (as a BadRequest field path)."""
    if isinstance(request, Malformed):
        raise MalformedRequest(request.message_type)
    if not _may_have_rules(request.DESCRIPTOR.file):
        return  # grpc.health.v1 and the like: nothing to check, and the check costs ~5 % of such a call
    violations = _validator.collect_violations(request)
    if violations:
        raise InvalidArgument([_violation(request, v) for v in violations])


@functools.cache
def _may_have_rules(file: Any) -> bool:
    """Whether a message of this file can carry buf.validate rules: only if the file, or a file it
    imports (whose messages its fields may hold), imports validate.proto."""
    return any(dep.name == VALIDATE_PROTO or _may_have_rules(dep) for dep in file.dependencies)


def _violation(request: Message, violation: Any) -> FieldViolation:
    elements = violation.proto.field.elements if violation.proto.field else ()
    field = field_at(request.DESCRIPTOR, (el.field_name for el in elements))
    rule_id = violation.proto.rule_id
    text = describe(rule_id, violation.proto.message, violation.rule_value, violation.field_value, field)
    return FieldViolation(_path(elements), text, rule_id)


def warm_up(requests: Iterable[Message]) -> None:
    """Compiles each message type's rules now (~10 ms each) rather than on its first call."""
    for request in requests:
        _validator.collect_violations(request)


def _path(elements: Iterable[object]) -> str:
    # AIP-193 field paths: dotted names, with [index] or ["key"] for repeated and map fields.
    parts: list[str] = []
    for el in elements:
        name: str = el.field_name  # type: ignore[attr-defined]
        sub = el.subscript  # type: ignore[attr-defined]
        if sub is not None and sub.field == "index":
            name += f"[{sub.value}]"
        elif sub is not None:
            name += f"[{sub.value!r}]"
        parts.append(name)
    return ".".join(parts)
