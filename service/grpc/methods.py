"""What each RPC needs — the role that may call it, read or write, idempotency keys or not — as its
`erp.orders.v1.policy` option in protos/ declares it (erp/orders/v1/policy.proto).

One table for authentication, rate limiting and idempotency, derived from the descriptors when
this module is imported: an RPC of ours without a complete policy raises MissingPolicy, so the server
cannot start with it. A method of nobody's table (one that is not ours) is refused by the auth step,
except the health service's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from service._gen.erp.orders.v1 import policy_pb2
from service.grpc.contract import SERVICES

# The roles the contract names, for code that grants them (tokens, tests).
CATALOG_ADMIN = "catalog.admin"
ORDERS_WRITE = "orders.write"
ORDERS_FULFIL = "orders.fulfil"
ORDERS_READ = "orders.read"


class MissingPolicy(Exception):
    """An RPC declares no policy, or one without a role or an access class."""


@dataclass(frozen=True)
class Method:
    role: str
    writes: bool  # rate limited apart from reads
    idempotent: bool  # honours the idempotency-key metadata


def table(services: Iterable[ServiceDescriptor]) -> dict[str, Method]:
    """Every RPC of `services` by its gRPC name (`/package.Service/Rpc`), with its declared policy."""
    rpcs = {f"/{service.full_name}/{rpc.name}": rpc for service in services for rpc in service.methods}
    missing = sorted(name for name, rpc in rpcs.items() if not _complete(_policy(rpc)))
    if missing:
        raise MissingPolicy(
            f"RPCs without a complete (erp.orders.v1.policy) option (role and access): {', '.join(missing)}"
        )
    return {name: _method(_policy(rpc)) for name, rpc in rpcs.items()}


def _policy(rpc: MethodDescriptor) -> policy_pb2.MethodPolicy:
    policy: policy_pb2.MethodPolicy = rpc.GetOptions().Extensions[policy_pb2.policy]
    return policy


def _complete(policy: policy_pb2.MethodPolicy) -> bool:
    return bool(policy.role) and policy.access != policy_pb2.ACCESS_UNSPECIFIED


def _method(policy: policy_pb2.MethodPolicy) -> Method:
    return Method(policy.role, policy.access == policy_pb2.ACCESS_WRITE, policy.idempotent)


METHODS: dict[str, Method] = table(SERVICES)
ALL_ROLES = frozenset(method.role for method in METHODS.values())
