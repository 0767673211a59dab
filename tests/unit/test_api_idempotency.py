"""Idempotency keys as the API answers them, on the in-memory store: replays, conflicts and what is not
stored (tests/unit/api.py). The e2e suite runs the same contract on Redis and under concurrency."""

from __future__ import annotations


import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from service.usecases import products
from tests.helpers import Stubs, rich, token
from tests.unit.api import Api, Held

Item = order_pb2.CreateOrderRequest.Item
REPLAYED = ("idempotent-replayed", "true")


def _create(stubs: Stubs, key: str, customer_id: str, product_id: str, quantity: int = 1) -> tuple[order_pb2.Order, bool]:
    """Creates an order with an idempotency key; returns it and whether the response says it was replayed."""
    request = order_pb2.CreateOrderRequest(customer_id=customer_id, items=[Item(product_id=product_id, quantity=quantity)])
    order, call = stubs.orders.CreateOrder.with_call(request, metadata=[("idempotency-key", key)])
    return order, REPLAYED in call.initial_metadata()


def test_a_retry_after_completion_returns_the_identical_order_marked_replayed_without_a_second_stock_move(
    api: Api, stubs: Stubs
) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    first, first_replayed = _create(stubs, "k1", customer.id, product.id, 2)
    units = api.units
    again, again_replayed = _create(stubs, "k1", customer.id, product.id, 2)
    assert (first_replayed, again_replayed) == (False, True)
    assert again == first
    assert api.units == units  # answered by the store: no use case ran
    assert stubs.stock(product.id) == 8 and [m.delta for m in stubs.movements(product.id)] == [10, -2]
    assert len(api.tables.orders) == 1


def test_the_same_key_with_another_request_is_refused_and_changes_nothing(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    _create(stubs, "k1", customer.id, product.id, 2)
    with pytest.raises(grpc.RpcError) as caught:
        _create(stubs, "k1", customer.id, product.id, 3)
    error = rich(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED")
    assert stubs.stock(product.id) == 8


def test_the_same_key_from_another_principal_is_another_request(api: Api, stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    mine, _ = _create(stubs, "k1", customer.id, product.id)
    theirs, replayed = _create(api.stubs(token("someone-else")), "k1", customer.id, product.id)
    assert (theirs.id != mine.id, replayed) == (True, False)
    assert stubs.stock(product.id) == 8


def test_a_business_failure_is_replayed_even_after_the_state_changes(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1)
    with pytest.raises(grpc.RpcError) as first:
        _create(stubs, "k1", customer.id, product.id, 5)
    assert rich(first.value).reason == "INSUFFICIENT_STOCK"
    stubs.products.AdjustStock(product_pb2.AdjustStockRequest(id=product.id, delta=10, reason="restock"))
    with pytest.raises(grpc.RpcError) as again:
        _create(stubs, "k1", customer.id, product.id, 5)
    error = rich(again.value)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK")
    assert error.precondition_subjects == [f"products/{product.id}"]
    assert REPLAYED in again.value.initial_metadata()  # type: ignore[attr-defined]
    assert stubs.stock(product.id) == 11


def test_a_validation_failure_is_not_stored_so_the_fixed_request_runs(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    with pytest.raises(grpc.RpcError) as caught:
        _create(stubs, "k1", customer.id, product.id, 0)
    assert rich(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT
    order, replayed = _create(stubs, "k1", customer.id, product.id, 1)
    assert (order.items[0].quantity, replayed) == (1, False)


@pytest.mark.parametrize("bad", ["", "x" * 256, "tab\there", "é"], ids=["empty", "256 characters", "a control character", "not ASCII"])
def test_malformed_keys_are_invalid_arguments_and_change_nothing(api: Api, stubs: Stubs, bad: str) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    with pytest.raises(grpc.RpcError) as caught:
        _create(stubs, bad, customer.id, product.id)
    assert (rich(caught.value).code, rich(caught.value).reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_IDEMPOTENCY_KEY")
    assert (stubs.stock(product.id), api.tables.orders) == (10, {})


def test_adjust_stock_with_a_key_moves_stock_once_and_says_it_replayed(stubs: Stubs) -> None:
    product = stubs.product(stock=10)
    request = product_pb2.AdjustStockRequest(id=product.id, delta=-4, reason="damaged")
    first, call = stubs.products.AdjustStock.with_call(request, metadata=[("idempotency-key", "a1")])
    again, replay = stubs.products.AdjustStock.with_call(request, metadata=[("idempotency-key", "a1")])
    assert again.movement == first.movement
    assert (REPLAYED in call.initial_metadata(), REPLAYED in replay.initial_metadata()) == (False, True)
    assert stubs.stock(product.id) == 6


def test_a_repeat_while_the_first_call_runs_is_aborted_with_retry_info(stubs: Stubs, monkeypatch: pytest.MonkeyPatch) -> None:
    product = stubs.product(stock=10)
    held = Held(products.adjust_stock)
    monkeypatch.setattr(products, "adjust_stock", held)
    request = product_pb2.AdjustStockRequest(id=product.id, delta=1, reason="recount")
    first = stubs.products.AdjustStock.start(request, metadata=[("idempotency-key", "a1")])  # runs on grpc_testing's thread
    assert held.entered.wait(10)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.products.AdjustStock(request, metadata=[("idempotency-key", "a1")])
    held.release.set()
    error = rich(caught.value)
    assert (error.code, error.reason, error.has_retry_info) == (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_IN_USE", True)
    assert first.termination()[2] == grpc.StatusCode.OK
    assert stubs.stock(product.id) == 11
