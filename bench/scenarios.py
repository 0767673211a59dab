"""The scenarios of issue 6 and their targets. Order matters: ListOrders runs at 10k then at 100k orders first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    rpc: str  # "create", "get", "list", "health" (gRPC) or "rest" (CreateOrder through the gateway)
    concurrency: int = 16
    items: int = 1
    hot: bool = False
    ceiling: bool = False  # run the raw ceiling with the same shape and concurrency
    floor: bool = False  # run the same calls against the bare grpcio server (bench/floor.py) instead
    table_size: int = 0  # orders in the table before the window (topped up if fewer)
    target: str = ""  # human-readable target, checked by report.targets


def hot_curve(levels: tuple[int, ...] = (1, 4, 16, 64)) -> list[Scenario]:
    return [
        Scenario(f"g{c}", f"hot product @ concurrency {c}", "create", c, hot=True, ceiling=True) for c in levels
    ]


ALL: list[Scenario] = [
    # The two table sizes back to back, so that the machine's drifting background load weighs on both
    # alike (run apart, the same code measured × 0.7 and × 1.6 on p99); the rest then runs on 100k+.
    Scenario("e10k", "ListOrders first page, 10k orders", "list", table_size=10_000, target="p99 flat 10k→100k"),
    Scenario("e100k", "ListOrders first page, 100k orders", "list", table_size=100_000, target="p99 flat 10k→100k"),
    Scenario("a", "CreateOrder, 1 random item of 1,000", "create", ceiling=True, target="≥ 0.50 × ceiling"),
    # The service's grpc.health.v1 Check (no database, no Redis) against a bare grpcio server of the
    # same shape answering the same call: what the service's own machinery costs per call.
    Scenario("h", "health Check vs a bare grpcio server", "health", floor=True, target="server CPU/call ≤ 1.3 × bare"),
    Scenario("b", "CreateOrder, 1 hot item", "create", hot=True, ceiling=True, target="≥ 0.60 × ceiling"),
    Scenario("c", "CreateOrder, 3 random items", "create", items=3, ceiling=True, target="≥ 0.45 × ceiling"),
    *hot_curve(),
    Scenario("d", "GetOrder, random existing order", "get", table_size=10_000, target="p99 ≤ 10 ms and ≥ 3 × a"),  # topped up, so `-s d` runs alone
    Scenario("f", "CreateOrder over REST (gateway), 1 random item", "rest", ceiling=True, target="≥ 0.35 × ceiling"),
]
BY_KEY = {s.key: s for s in ALL}
# Short names on the command line: "e" is both table sizes and "g" the whole hot-row curve.
GROUPS = {"e": ["e10k", "e100k"], "g": [s.key for s in ALL if s.key.startswith("g")]}


def select(keys: list[str]) -> list[Scenario]:
    """The named scenarios, in the canonical order above."""
    wanted = {k for key in keys for k in GROUPS.get(key, [key])}
    unknown = wanted - BY_KEY.keys()
    if unknown:
        raise ValueError(f"unknown scenarios {sorted(unknown)}; known: {[s.key for s in ALL]} and groups {sorted(GROUPS)}")
    return [s for s in ALL if s.key in wanted]
