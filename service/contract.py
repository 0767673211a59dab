"""The contract this service implements: its proto files and the services they declare."""

from __future__ import annotations

from google.protobuf.descriptor import FileDescriptor, ServiceDescriptor

from service._gen.erp.orders.v1 import customer_pb2, events_pb2, order_pb2, product_pb2

FILES: tuple[FileDescriptor, ...] = (customer_pb2.DESCRIPTOR, product_pb2.DESCRIPTOR, order_pb2.DESCRIPTOR, events_pb2.DESCRIPTOR)
SERVICES: tuple[ServiceDescriptor, ...] = tuple(s for f in FILES for s in f.services_by_name.values())
