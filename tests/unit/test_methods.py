"""The policy table: read from each RPC's `erp.orders.v1.policy` option, and refused when an RPC has none."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

from service.grpc import methods
from service._gen.erp.orders.v1 import policy_pb2
from service.grpc.methods import CATALOG_ADMIN, ORDERS_FULFIL, ORDERS_READ, ORDERS_WRITE, METHODS, Method, MissingPolicy
from service.grpc.contract import FILES


def test_every_rpc_of_the_contract_has_the_policy_its_proto_declares() -> None:
    rpcs = {f"/{s.full_name}/{m.name}" for f in FILES for s in f.services_by_name.values() for m in s.methods}
    assert set(METHODS) == rpcs and len(rpcs) == 31
    assert METHODS["/erp.orders.v1.OrderService/ExportOrders"] == Method(ORDERS_READ, writes=False, idempotent=False)
    assert METHODS["/erp.orders.v1.OrderService/BatchGetOrders"] == Method(ORDERS_READ, writes=False, idempotent=False)
    assert METHODS["/erp.orders.v1.OrderEventService/WatchOrderEvents"] == Method(ORDERS_READ, writes=False, idempotent=False)
    assert METHODS["/erp.orders.v1.OrderService/CreateOrder"] == Method(ORDERS_WRITE, writes=True, idempotent=True)
    assert METHODS["/erp.orders.v1.OrderService/UpdateOrderStatus"] == Method(ORDERS_FULFIL, writes=True, idempotent=True)
    assert METHODS["/erp.orders.v1.OrderService/AmendOrder"] == Method(ORDERS_WRITE, writes=True, idempotent=True)
    assert METHODS["/erp.orders.v1.OrderService/CreateShipment"] == Method(ORDERS_FULFIL, writes=True, idempotent=True)
    assert METHODS["/erp.orders.v1.OrderService/CreateReturn"] == Method(ORDERS_FULFIL, writes=True, idempotent=True)
    assert METHODS["/erp.orders.v1.OrderService/ListReturns"] == Method(ORDERS_READ, writes=False, idempotent=False)
    assert METHODS["/erp.orders.v1.ProductService/AdjustStock"] == Method(CATALOG_ADMIN, writes=True, idempotent=True)
    assert METHODS["/erp.orders.v1.CustomerService/ListCustomers"] == Method(ORDERS_READ, writes=False, idempotent=False)
    assert methods.ALL_ROLES == {CATALOG_ADMIN, ORDERS_WRITE, ORDERS_FULFIL, ORDERS_READ}


def _service(**policies: policy_pb2.MethodPolicy | None) -> ServiceDescriptor:
    """A new service in the process's descriptor pool whose RPCs (named by the keywords) declare these policies."""
    package = f"erp.orders.test{uuid.uuid4().hex[:8]}"
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{package.replace('.', '/')}/extra.proto", package=package, syntax="proto3",
        dependency=[policy_pb2.DESCRIPTOR.name],
    )
    file.message_type.add(name="Empty")
    service = file.service.add(name="ExtraService")
    for name, policy in policies.items():
        rpc = service.method.add(name=name, input_type=f".{package}.Empty", output_type=f".{package}.Empty")
        if policy is not None:
            rpc.options.Extensions[policy_pb2.policy].CopyFrom(policy)
    descriptor_pool.Default().Add(file)
    return descriptor_pool.Default().FindServiceByName(f"{package}.ExtraService")


READ = policy_pb2.MethodPolicy(role=ORDERS_READ, access=policy_pb2.ACCESS_READ)


def test_a_declared_policy_is_read_from_the_descriptor() -> None:
    service = _service(Look=READ, Change=policy_pb2.MethodPolicy(role=CATALOG_ADMIN, access=policy_pb2.ACCESS_WRITE, idempotent=True))
    assert methods.table([service]) == {
        f"/{service.full_name}/Look": Method(ORDERS_READ, writes=False, idempotent=False),
        f"/{service.full_name}/Change": Method(CATALOG_ADMIN, writes=True, idempotent=True),
    }


@pytest.mark.parametrize(
    "policy",
    [None, policy_pb2.MethodPolicy(access=policy_pb2.ACCESS_READ), policy_pb2.MethodPolicy(role=ORDERS_READ)],
    ids=["no policy", "no role", "no access class"],
)
def test_an_rpc_without_a_complete_policy_is_refused(policy: policy_pb2.MethodPolicy | None) -> None:
    service = _service(Look=READ, Forgotten=policy)
    with pytest.raises(MissingPolicy, match=f"/{service.full_name}/Forgotten") as caught:
        methods.table([service])
    assert "Look" not in str(caught.value)
