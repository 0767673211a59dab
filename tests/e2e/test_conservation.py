"""After a random concurrent workload the stock, the orders and the ledger still agree."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from tests.helpers import Stubs


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def test_stock_is_conserved_under_a_random_mixed_workload(stubs: Stubs) -> None:
    rng = random.Random(20261129)
    customer = stubs.customer()
    products = [stubs.product(stock=rng.randint(5, 30)) for _ in range(6)]
    initial = {p.id: p.stock_quantity for p in products}
    placed: list[str] = []

    def step(seed: int) -> None:
        r = random.Random(seed)
        action = r.random()
        try:
            if action < 0.6:
                picks = r.sample(products, r.randint(1, 3))
                order = stubs.order(customer.id, *[(p.id, r.randint(1, 4)) for p in picks])
                placed.append(order.id)
            elif action < 0.8 and placed:
                stubs.orders.CancelOrder(order_pb2.CancelOrderRequest(id=r.choice(placed), reason="workload"))
            else:
                stubs.products.AdjustStock(
                    product_pb2.AdjustStockRequest(id=r.choice(products).id, delta=r.choice([-3, -1, 2, 5]), reason="count")
                )
        except grpc.RpcError as error:
            # Shortages and repeated cancels are expected; anything else is a bug.
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error  # type: ignore[attr-defined]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(step, [rng.randrange(10**9) for _ in range(300)]))

    orders = stubs.orders.ListOrders(order_pb2.ListOrdersRequest(customer_id=customer.id, page_size=1000)).orders
    assert len(orders) == len(placed)
    for product in products:
        ledger = stubs.movements(product.id)
        adjustments = sum(m.delta for m in ledger if m.kind == product_pb2.STOCK_MOVEMENT_KIND_ADJUSTMENT)
        ordered = sum(
            item.quantity
            for order in orders
            if order.status != order_pb2.ORDER_STATUS_CANCELED
            for item in order.items
            if item.product_id == product.id
        )
        stock = stubs.stock(product.id)
        assert stock >= 0
        assert initial[product.id] + adjustments - ordered == stock
        assert sum(m.delta for m in ledger) == stock
        assert ledger[-1].stock_after == stock
