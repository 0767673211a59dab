"""Proto comments by element full name, read from the source info in service/_gen/descriptor_set.binpb."""

from __future__ import annotations

from importlib import resources

from google.protobuf import descriptor_pb2

# FileDescriptorProto / DescriptorProto field numbers that source-info paths are made of.
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _NESTED_ENUM = 2, 3, 4
_ENUM_VALUE, _METHOD = 2, 2


def load() -> dict[str, str]:
    """Full name ("erp.orders.v1.Order.id", "erp.orders.v1.OrderService.CreateOrder") → leading comment."""
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(
        resources.files("service._gen").joinpath("descriptor_set.binpb").read_bytes()
    )
    comments: dict[str, str] = {}
    for file in descriptor_set.file:
        names = _names(file)
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            if name and location.leading_comments.strip():
                comments[name] = "\n".join(line.strip() for line in location.leading_comments.strip().splitlines())
    return comments


def _names(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    prefix = f"{file.package}." if file.package else ""
    names: dict[tuple[int, ...], str] = {}
    for i, message in enumerate(file.message_type):
        _message(message, (_MESSAGE, i), prefix + message.name, names)
    for i, enum in enumerate(file.enum_type):
        _enum(enum, (_ENUM, i), prefix + enum.name, names)
    for i, service in enumerate(file.service):
        names[(_SERVICE, i)] = prefix + service.name
        for j, method in enumerate(service.method):
            names[(_SERVICE, i, _METHOD, j)] = f"{prefix}{service.name}.{method.name}"
    return names


def _message(message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], name: str, names: dict[tuple[int, ...], str]) -> None:
    names[path] = name
    for i, field in enumerate(message.field):
        names[(*path, _FIELD, i)] = f"{name}.{field.name}"
    for i, nested in enumerate(message.nested_type):
        _message(nested, (*path, _NESTED, i), f"{name}.{nested.name}", names)
    for i, enum in enumerate(message.enum_type):
        _enum(enum, (*path, _NESTED_ENUM, i), f"{name}.{enum.name}", names)


def _enum(enum: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], name: str, names: dict[tuple[int, ...], str]) -> None:
    names[path] = name
    for i, value in enumerate(enum.value):
        names[(*path, _ENUM_VALUE, i)] = f"{name}.{value.name}"
