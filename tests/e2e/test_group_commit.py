"""Group commit through the real gRPC server: calls held into one batch each get their own status."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from service.runtime.grpc_server import build_server, start, stop
from service.settings import Settings
from tests.helpers import HeldCombiner, Stubs, authorized_channel, held_combiners, rich, token, until


@pytest.fixture(scope="module")
def held(settings: Settings, engine: Engine) -> Iterator[tuple[HeldCombiner[Any, Any], Stubs]]:
    """A server whose CreateOrder combiner a test can hold (that combiner), and stubs for it."""
    with held_combiners() as made:
        running = build_server(settings, engine)
    combiner, = made
    start(running)
    try:
        with authorized_channel(running.port, token("group-commit")) as channel:
            yield combiner, Stubs.on(channel)
    finally:
        stop(running, grace=0)


def _batches() -> tuple[float, float]:
    return (REGISTRY.get_sample_value("orders_create_batch_size_count") or 0.0,
            REGISTRY.get_sample_value("orders_create_batch_size_sum") or 0.0)


def test_orders_held_into_one_batch_over_grpc_each_get_their_own_status(held: tuple[HeldCombiner[Any, Any], Stubs]) -> None:
    combiner, stubs = held
    customer, product = stubs.customer(), stubs.product(stock=5)
    quantities = [2, 4, 3]
    before = _batches()
    combiner.hold()
    with ThreadPoolExecutor(len(quantities)) as pool:
        futures = []
        for i, quantity in enumerate(quantities):
            if i:
                until(lambda queued=i: combiner.waiting() >= queued, f"call {i - 1} is queued", every=0.005)
            futures.append(pool.submit(stubs.order, customer.id, (product.id, quantity)))
        combiner.let_go(len(quantities))
        first, short, last = (f.exception() or f.result() for f in futures)
    after = _batches()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 3)  # one batch of three
    assert isinstance(short, grpc.RpcError)
    error = rich(short)
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK")
    assert error.precondition_subjects == [f"products/{product.id}"]
    assert "requested 4, available 3" in error.message
    assert [i.quantity for i in first.items] == [2] and [i.quantity for i in last.items] == [3]  # type: ignore[union-attr]
    assert stubs.stock(product.id) == 0
    assert [m.stock_after for m in stubs.movements(product.id)] == [5, 3, 0]
