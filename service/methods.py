"""What each RPC needs: the role that may call it, and whether it reads or writes.

One table for authentication, rate limiting and idempotency. A method missing here is not
ours (health, reflection) and passes through those interceptors untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

CATALOG_ADMIN = "catalog.admin"
ORDERS_WRITE = "orders.write"
ORDERS_FULFIL = "orders.fulfil"
ORDERS_READ = "orders.read"
ALL_ROLES = frozenset({CATALOG_ADMIN, ORDERS_WRITE, ORDERS_FULFIL, ORDERS_READ})


@dataclass(frozen=True)
class Method:
    role: str

    @property
    def writes(self) -> bool:
        """Writes are rate-limited apart from reads, and accept idempotency keys."""
        return self.role != ORDERS_READ


def _service(name: str, roles: dict[str, str]) -> dict[str, Method]:
    return {f"/erp.orders.v1.{name}/{rpc}": Method(role) for rpc, role in roles.items()}


METHODS: dict[str, Method] = {
    **_service(
        "CustomerService",
        {
            "CreateCustomer": CATALOG_ADMIN, "GetCustomer": ORDERS_READ, "ListCustomers": ORDERS_READ,
            "UpdateCustomer": CATALOG_ADMIN, "DeleteCustomer": CATALOG_ADMIN, "UndeleteCustomer": CATALOG_ADMIN,
        },
    ),
    **_service(
        "ProductService",
        {
            "CreateProduct": CATALOG_ADMIN, "GetProduct": ORDERS_READ, "ListProducts": ORDERS_READ,
            "UpdateProduct": CATALOG_ADMIN, "DeleteProduct": CATALOG_ADMIN, "UndeleteProduct": CATALOG_ADMIN,
            "AdjustStock": CATALOG_ADMIN, "ListStockMovements": ORDERS_READ,
        },
    ),
    **_service(
        "OrderService",
        {
            "CreateOrder": ORDERS_WRITE, "GetOrder": ORDERS_READ, "ListOrders": ORDERS_READ,
            "UpdateOrderStatus": ORDERS_FULFIL, "CancelOrder": ORDERS_WRITE, "ListOrderStatusHistory": ORDERS_READ,
        },
    ),
}
