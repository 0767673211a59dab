"""The metrics the interceptor chain keeps: calls by method and code, idempotency events and rate-limit
refusals (deltas on the process registry; tests/unit/api.py). Storage's own metrics: tests/e2e/test_metrics.py."""

from __future__ import annotations


import pytest
from prometheus_client import REGISTRY

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from service.usecases import products
from tests.helpers import Stubs, outcome, token
from tests.unit.api import Api, Held, settings


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_rpcs_are_counted_by_method_and_code_and_timed(stubs: Stubs) -> None:
    method = "/erp.orders.v1.OrderService/GetOrder"
    before = value("orders_rpcs_total", method=method, code="NOT_FOUND"), value("orders_rpc_duration_seconds_count", method=method)
    assert outcome(lambda: stubs.orders.GetOrder(order_pb2.GetOrderRequest(id="987654321"))) == "NOT_FOUND"
    after = value("orders_rpcs_total", method=method, code="NOT_FOUND"), value("orders_rpc_duration_seconds_count", method=method)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_idempotency_replays_conflicts_and_reuse_are_counted(api: Api, stubs: Stubs, monkeypatch: pytest.MonkeyPatch) -> None:
    product = stubs.product(stock=5)
    events = ("replay", "in_use", "reused")
    before = [value("orders_idempotency_events_total", event=e) for e in events]
    held = Held(products.adjust_stock)
    monkeypatch.setattr(products, "adjust_stock", held)
    key = [("idempotency-key", "metrics-1")]
    request = product_pb2.AdjustStockRequest(id=product.id, delta=1, reason="metrics")
    first = stubs.products.AdjustStock.start(request, metadata=key)  # runs on grpc_testing's thread
    assert held.entered.wait(10)
    assert outcome(lambda: stubs.products.AdjustStock(request, metadata=key)) == "IDEMPOTENCY_KEY_IN_USE"
    held.release.set()
    first.termination()
    stubs.products.AdjustStock(request, metadata=key)
    other = product_pb2.AdjustStockRequest(id=product.id, delta=2, reason="metrics")
    assert outcome(lambda: stubs.products.AdjustStock(other, metadata=key)) == "IDEMPOTENCY_KEY_REUSED"
    after = [value("orders_idempotency_events_total", event=e) for e in events]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


def test_rate_limit_rejections_are_counted() -> None:
    before = value("orders_rate_limited_total", method_class="write")
    client = Api(config=settings(rate_limit_write="3/min")).stubs(token("rate-limited-writer"))
    outcomes = [outcome(lambda: client.product(stock=1)) for _ in range(5)]
    assert outcomes == ["OK"] * 3 + ["RATE_LIMITED"] * 2
    assert value("orders_rate_limited_total", method_class="write") - before == 2
