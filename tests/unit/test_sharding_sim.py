"""The sharding simulator (`python -m bench.sharding`), whose table docs/sharding.md decides on."""

from __future__ import annotations

import pytest

from bench import sharding
from bench.sharding import Workload, generate, shard_of, simulate


@pytest.fixture(scope="module")
def workload() -> Workload:
    return generate(seed=7, orders=3_000, products=500, customers=800, hot=3, hot_share=0.3)


def test_generated_orders_have_one_to_five_distinct_lines_and_are_reproducible(workload: Workload) -> None:
    assert {len(products) for _, products in workload.orders} == {1, 2, 3, 4, 5}
    assert all(len(set(products)) == len(products) for _, products in workload.orders)
    assert workload == generate(seed=7, orders=3_000, products=500, customers=800, hot=3, hot_share=0.3)


def test_hot_products_draw_their_share_of_the_lines(workload: Workload) -> None:
    # Three hot products share 30 % of the lines: the hottest draws about a third of that.
    assert 0.07 < sharding.hottest_share(workload) < 0.13


def test_one_shard_has_no_cross_shard_transaction_and_no_imbalance(workload: Workload) -> None:
    for key in sharding.KEYS:
        result = simulate(workload, key, 1)
        assert (result.cross_shard, result.multi_step, result.busiest) == (0, 0, 1)


def test_product_key_keeps_single_line_orders_on_one_shard() -> None:
    single = Workload(tuple((customer, (product,)) for customer, product in zip(range(1, 200), range(1, 200), strict=True)))
    assert simulate(single, "product", 8).cross_shard == 0
    assert simulate(single, "customer", 8).cross_shard > 0.5


def test_a_cross_shard_order_is_counted_exactly_when_its_rows_span_shards() -> None:
    shards = 4
    same = next(p for p in range(2, 1000) if shard_of("product", p, shards) == shard_of("product", 1, shards))
    other = next(p for p in range(2, 1000) if shard_of("product", p, shards) != shard_of("product", 1, shards))
    two_orders = Workload(((1, (1, same)), (1, (1, other))))
    assert simulate(two_orders, "product", shards).cross_shard == 0.5


def test_hybrid_never_spans_shards_in_one_transaction_but_takes_the_customer_keys_steps(workload: Workload) -> None:
    for shards in sharding.SHARD_COUNTS:
        hybrid, customer = simulate(workload, "hybrid", shards), simulate(workload, "customer", shards)
        assert hybrid.cross_shard == 0
        assert hybrid.multi_step == customer.cross_shard > 0
        assert hybrid.busiest == customer.busiest


def test_the_command_prints_every_key_and_shard_count(capsys: pytest.CaptureFixture[str]) -> None:
    sharding.main(["--orders", "500", "--products", "200", "--customers", "300"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "shards" not in line]
    assert len(rows) == len(sharding.KEYS) * len(sharding.SHARD_COUNTS)
