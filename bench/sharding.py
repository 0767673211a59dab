"""Simulates candidate shard keys on a realistic order workload: `python -m bench.sharding`.

The workload is what an ERP order service sees: product popularity follows a Zipf law, a few
products are hot (a flash sale), orders have 1-5 lines, and many customers order with a skew of
their own (a few large accounts). For each shard key and shard count it reports the share of
orders whose one atomic transaction would span shards, and the load on the busiest shard
relative to the mean. docs/sharding.md reads the plan off this table.

Load is counted in row writes, where each lands: one stock update (plus its ledger row) per line
on the product's shard, and the order (with its items and history) on the order's shard.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KEYS = ("product", "customer", "hybrid")
SHARD_COUNTS = (2, 4, 8, 16)
LINE_WEIGHTS = (35, 25, 18, 12, 10)  # orders of 1, 2, 3, 4 and 5 lines


@dataclass(frozen=True)
class Workload:
    orders: tuple[tuple[int, tuple[int, ...]], ...]  # (customer id, distinct product ids)


@dataclass(frozen=True)
class Result:
    key: str
    shards: int
    cross_shard: float  # share of orders whose atomic transaction touches more than one shard
    multi_step: float  # share of orders that need more than one local transaction (hybrid's saga)
    busiest: float  # the busiest shard's row writes ÷ the mean


def zipf_weights(n: int, s: float) -> list[float]:
    return [1 / rank**s for rank in range(1, n + 1)]


def generate(seed: int, orders: int, products: int, customers: int, hot: int, hot_share: float) -> Workload:
    """Orders over products 1..products (Zipf 1.1, with `hot` products drawing `hot_share` of the lines)
    and customers 1..customers (Zipf 0.8)."""
    rng = random.Random(seed)
    product_ids = list(range(1, products + 1))
    rng.shuffle(product_ids)  # popularity is not correlated with the id, so not with its hash either
    popularity = zipf_weights(products, 1.1)
    tail_total = sum(popularity[hot:])
    weights = [hot_share / hot] * hot + [(1 - hot_share) * w / tail_total for w in popularity[hot:]]
    product_cum = list(itertools.accumulate(weights))
    customer_cum = list(itertools.accumulate(zipf_weights(customers, 0.8)))
    made = []
    for _ in range(orders):
        (lines,) = rng.choices(range(1, 6), weights=LINE_WEIGHTS)
        picked: set[int] = set()
        while len(picked) < lines:
            picked.add(product_ids[rng.choices(range(products), cum_weights=product_cum)[0]])
        (customer,) = rng.choices(range(1, customers + 1), cum_weights=customer_cum)
        made.append((customer, tuple(sorted(picked))))
    return Workload(tuple(made))


def shard_of(entity: str, ident: int, shards: int) -> int:
    """A uniform, stable hash of the id, as Vitess's hash vindex is (any uniform hash behaves alike)."""
    digest = hashlib.blake2b(f"{entity}:{ident}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def simulate(workload: Workload, key: str, shards: int) -> Result:
    writes = [0] * shards
    cross = multi = 0
    for customer, products in workload.orders:
        stock_shards = [shard_of("product", p, shards) for p in products]
        # Product key: the order lives with its lowest product. Customer and hybrid: with its customer.
        home = stock_shards[0] if key == "product" else shard_of("customer", customer, shards)
        for shard in stock_shards:
            writes[shard] += 1
        writes[home] += 1
        touched = len({home, *stock_shards})
        if key == "hybrid":
            # Stock is reserved per product shard in local transactions, the order written on its
            # customer's shard, joined by events: no transaction spans shards, but steps multiply.
            multi += touched > 1
        else:
            cross += touched > 1
            multi += touched > 1
    count = len(workload.orders)
    return Result(key, shards, cross / count, multi / count, max(writes) / (sum(writes) / shards))


def table(results: Iterable[Result]) -> str:
    rows = ["| key | shards | cross-shard transactions | orders needing >1 local transaction | busiest shard ÷ mean |",
            "|---|---:|---:|---:|---:|"]
    rows += [f"| {r.key} | {r.shards} | {r.cross_shard:.1%} | {r.multi_step:.1%} | {r.busiest:.2f} |" for r in results]
    return "\n".join(rows)


def hottest_share(workload: Workload) -> float:
    """The hottest product's share of all lines: what no shard key can split, since it is one row."""
    lines: dict[int, int] = {}
    for _, products in workload.orders:
        for p in products:
            lines[p] = lines.get(p, 0) + 1
    return max(lines.values()) / sum(lines.values())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sharding", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--hot", type=int, default=5, help="hot products (a flash sale)")
    parser.add_argument("--hot-share", type=float, default=0.2, help="share of all lines the hot products draw")
    args = parser.parse_args(argv)
    workload = generate(args.seed, args.orders, args.products, args.customers, args.hot, args.hot_share)
    print(table(simulate(workload, key, n) for key in KEYS for n in SHARD_COUNTS))
    mean_lines = sum(len(p) for _, p in workload.orders) / len(workload.orders)
    print(f"\n{len(workload.orders):,} orders, {mean_lines:.2f} lines each on average; "
          f"the hottest product draws {hottest_share(workload):.1%} of all lines (seed {args.seed})")


if __name__ == "__main__":
    main()
