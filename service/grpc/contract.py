"""The contract this service implements: its proto files, the services they declare, and their methods."""

from __future__ import annotations

from google.protobuf import message_factory
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from service._gen.erp.orders.v1 import customer_pb2, events_pb2, order_pb2, product_pb2

FILES: tuple[FileDescriptor, ...] = (customer_pb2.DESCRIPTOR, product_pb2.DESCRIPTOR, order_pb2.DESCRIPTOR, events_pb2.DESCRIPTOR)
SERVICES: tuple[ServiceDescriptor, ...] = tuple(s for f in FILES for s in f.services_by_name.values())
SERVICE_NAMES = tuple(s.full_name for s in SERVICES)
# Every method by its gRPC path (/package.Service/Method), and each one's response class.
RPCS: tuple[tuple[str, MethodDescriptor], ...] = tuple((f"/{s.full_name}/{m.name}", m) for s in SERVICES for m in s.methods)
RESPONSES: dict[str, type[Message]] = {name: message_factory.GetMessageClass(m.output_type) for name, m in RPCS}
