"""Renders .proto source text from a FileDescriptorProto, for protos shipped as descriptors."""

# Scope: what buf/validate/validate.proto uses, plus maps, proto3 optional and editions. Anything
# else (services, groups, defaults) is left to the caller's compile-and-compare check rather than
# rendered approximately. Option values are read through the default descriptor pool, so options
# that are extensions (e.g. buf.validate.predefined) must be registered there first, or they are
# unknown fields and get dropped, which that check then reports.

import itertools

from google.protobuf import descriptor_pb2, text_encoding, text_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    _F.TYPE_DOUBLE: "double", _F.TYPE_FLOAT: "float", _F.TYPE_INT64: "int64",
    _F.TYPE_UINT64: "uint64", _F.TYPE_INT32: "int32", _F.TYPE_FIXED64: "fixed64",
    _F.TYPE_FIXED32: "fixed32", _F.TYPE_BOOL: "bool", _F.TYPE_STRING: "string",
    _F.TYPE_BYTES: "bytes", _F.TYPE_UINT32: "uint32", _F.TYPE_SFIXED32: "sfixed32",
    _F.TYPE_SFIXED64: "sfixed64", _F.TYPE_SINT32: "sint32", _F.TYPE_SINT64: "sint64",
}  # fmt: skip
_MAX_FIELD_NUMBER = 2**29 - 1  # what `max` means in `extensions 1000 to max`
_MAX_ENUM_NUMBER = 2**31 - 1

# One option assignment, `name = value`; a message value spans several lines.
Assignment = list[str]


def render(file: descriptor_pb2.FileDescriptorProto, header: str) -> str:
    """The .proto source of `file`, starting with the comment line `header`."""
    syntax = file.syntax or "proto2"  # proto2 files leave `syntax` unset
    if syntax == "editions":
        edition = descriptor_pb2.Edition.Name(file.edition).removeprefix("EDITION_")
        first = [f"// {header}", f'edition = "{edition}";']
    else:
        first = [f"// {header}", f'syntax = "{syntax}";']
    imports = [f'import {_import_kind(file, i)}"{name}";' for i, name in enumerate(file.dependency)]
    blocks = [
        first,
        [f"package {file.package};"] if file.package else [],
        imports,
        _option_statements(file.options),
        *(_message(m, syntax) for m in file.message_type),
        *(_enum(e, syntax) for e in file.enum_type),
        _extends(file.extension, syntax),
    ]
    return "\n\n".join("\n".join(block) for block in blocks if block) + "\n"


def _import_kind(file: descriptor_pb2.FileDescriptorProto, index: int) -> str:
    if index in file.public_dependency:
        return "public "
    return "weak " if index in file.weak_dependency else ""


def _message(message: descriptor_pb2.DescriptorProto, syntax: str) -> list[str]:
    # Map fields point at synthetic nested *Entry messages, which the source does not spell out.
    entries = {n.name: n for n in message.nested_type if n.options.map_entry}
    body = _option_statements(message.options) + _fields(message, syntax, entries)
    for nested in message.nested_type:
        if nested.name not in entries:
            body += _message(nested, syntax)
    for enum in message.enum_type:
        body += _enum(enum, syntax)
    body += _extends(message.extension, syntax)
    for ext_range in message.extension_range:
        numbers = _range(ext_range.start, ext_range.end - 1, _MAX_FIELD_NUMBER)
        body += _with_options(f"extensions {numbers}", ext_range.options)
    # Message reserved ranges are end-exclusive; enum ones are end-inclusive.
    ranges = [(r.start, r.end - 1) for r in message.reserved_range]
    body += _reserved(ranges, message.reserved_name, syntax, _MAX_FIELD_NUMBER)
    return [f"message {message.name} {{", *_indent(body), "}"]


def _fields(
    message: descriptor_pb2.DescriptorProto,
    syntax: str,
    entries: dict[str, descriptor_pb2.DescriptorProto],
) -> list[str]:
    # Members of a real oneof are contiguous in declaration order, so one pass can open and
    # close `oneof` blocks. proto3 `optional` fields sit in synthetic oneofs, rendered as a label.
    lines: list[str] = []
    open_oneof: int | None = None
    for field in message.field:
        in_oneof = field.HasField("oneof_index") and not field.proto3_optional
        oneof = field.oneof_index if in_oneof else None
        if oneof != open_oneof:
            if open_oneof is not None:
                lines.append("}")
            if oneof is not None:
                decl = message.oneof_decl[oneof]
                lines += [f"oneof {decl.name} {{", *_indent(_option_statements(decl.options))]
            open_oneof = oneof
        rendered = _field(field, syntax, entries)
        lines += rendered if oneof is None else _indent(rendered)
    if open_oneof is not None:
        lines.append("}")
    return lines


def _field(
    field: descriptor_pb2.FieldDescriptorProto,
    syntax: str,
    entries: dict[str, descriptor_pb2.DescriptorProto],
) -> list[str]:
    entry = entries.get(field.type_name.rsplit(".", 1)[-1]) if field.type_name else None
    if entry is not None:
        kind = f"map<{_type(entry.field[0])}, {_type(entry.field[1])}>"
    else:
        kind = _label(field, syntax) + _type(field)
    pseudo = []
    if field.HasField("json_name") and field.json_name != _default_json_name(field.name):
        pseudo.append([f"json_name = {_quote(field.json_name)}"])
    return _with_options(f"{kind} {field.name} = {field.number}", field.options, pseudo)


def _label(field: descriptor_pb2.FieldDescriptorProto, syntax: str) -> str:
    if field.label == _F.LABEL_REPEATED:
        return "repeated "
    if syntax == "editions" or (field.HasField("oneof_index") and not field.proto3_optional):
        return ""  # editions express presence with features; oneof members take no label
    if syntax == "proto3":
        return "optional " if field.proto3_optional else ""
    return "required " if field.label == _F.LABEL_REQUIRED else "optional "


def _type(field: descriptor_pb2.FieldDescriptorProto) -> str:
    # type_name is fully qualified with a leading dot, which .proto accepts as is.
    return _SCALARS.get(field.type, field.type_name)


def _default_json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _enum(enum: descriptor_pb2.EnumDescriptorProto, syntax: str) -> list[str]:
    body = _option_statements(enum.options)
    for value in enum.value:
        body += _with_options(f"{value.name} = {value.number}", value.options)
    ranges = [(r.start, r.end) for r in enum.reserved_range]
    body += _reserved(ranges, enum.reserved_name, syntax, _MAX_ENUM_NUMBER)
    return [f"enum {enum.name} {{", *_indent(body), "}"]


def _extends(extensions: list[descriptor_pb2.FieldDescriptorProto], syntax: str) -> list[str]:
    lines: list[str] = []
    for extendee, group in itertools.groupby(extensions, key=lambda f: f.extendee):
        body = [line for field in group for line in _field(field, syntax, {})]
        lines += [f"extend {extendee} {{", *_indent(body), "}"]
    return lines


def _reserved(
    ranges: list[tuple[int, int]], names: list[str], syntax: str, max_number: int
) -> list[str]:
    lines = []
    if ranges:
        lines.append(f"reserved {', '.join(_range(a, b, max_number) for a, b in ranges)};")
    if names:
        # Editions reserve identifiers; proto2 and proto3 reserve string literals.
        spelled = names if syntax == "editions" else [_quote(n) for n in names]
        lines.append(f"reserved {', '.join(spelled)};")
    return lines


def _range(start: int, end_inclusive: int, max_number: int) -> str:
    if start == end_inclusive:
        return str(start)
    return f"{start} to {'max' if end_inclusive == max_number else end_inclusive}"


def _option_statements(options: Message) -> list[str]:
    lines = []
    for assignment in _assignments(options):
        lines += [f"option {assignment[0]}", *assignment[1:]]
        lines[-1] += ";"
    return lines


def _with_options(head: str, options: Message, pseudo: list[Assignment] | None = None) -> list[str]:
    """`head [options];`, on one line when every option value fits on one."""
    items = (pseudo or []) + _assignments(options)
    if not items:
        return [f"{head};"]
    if all(len(item) == 1 for item in items):
        return [f"{head} [{', '.join(item[0] for item in items)}];"]
    lines = [f"{head} ["]
    for i, item in enumerate(items):
        lines += _indent(item)
        lines[-1] += "," if i < len(items) - 1 else ""
    return [*lines, "];"]


def _assignments(options: Message) -> list[Assignment]:
    result = []
    for field, value in options.ListFields():
        name = f"({field.full_name})" if field.is_extension else field.name
        # A repeated option is written once per element; each assignment appends.
        for item in value if field.is_repeated else [value]:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                text = text_format.MessageToString(item, as_utf8=True).splitlines()
                result.append([f"{name} = {{", *_indent(text), "}"])
            else:
                result.append([f"{name} = {_scalar(field, item)}"])
    return result


def _scalar(field: FieldDescriptor, value: bool | int | float | str | bytes) -> str:
    if isinstance(value, (str, bytes)):
        return _quote(value)
    if field.enum_type is not None:
        return field.enum_type.values_by_number[int(value)].name
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _quote(value: str | bytes) -> str:
    # Strings keep their UTF-8 characters readable; bytes escape everything outside ASCII.
    if isinstance(value, str):
        return f'"{text_encoding.CEscape(value.encode(), as_utf8=True)}"'
    return f'"{text_encoding.CEscape(value, as_utf8=False)}"'


def _indent(lines: list[str]) -> list[str]:
    return [f"  {line}" if line else line for line in lines]
