"""The scenarios of issue 6 and their targets. Order matters: ListOrders runs at 10k then at 100k orders first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    rpc: str  # "create", "get", "list", "health", "ship", "amend" (gRPC) or "rest" (CreateOrder through the gateway)
    concurrency: int = 16
    items: int = 1
    hot: bool = False
    ceiling: bool = False  # run the raw ceiling with the same shape and concurrency
    floor: bool = False  # run the same calls against the bare grpcio server (bench/floor.py) instead
    table_size: int = 0  # orders in the table before the window (topped up if fewer)
    target: str = ""  # human-readable target, checked by report.targets
    batching: bool = True  # False: against the same server with group commit off (ORDERS_BATCH_MAX_ORDERS=1)
    events: bool = True  # False: against the same server writing no events (ORDERS_EVENTS_OUTBOX=false)
    versus: str = ""  # a scenario of the same run whose throughput this one's is noted against (this ÷ that)


OFF = "-off"  # the key suffix of a scenario run with group commit off
NO_EVENTS = "-noevents"  # the key suffix of a scenario run with the outbox off


def both_paths(*scenarios: Scenario) -> list[Scenario]:
    """Each scenario with group commit on, then the same one with it off, in the same run."""
    return [
        v for s in scenarios
        for v in (s, Scenario(s.key + OFF, s.title + ", batching off", s.rpc, s.concurrency, s.items, s.hot, s.ceiling, batching=False))
    ]


def hot_curve(levels: tuple[int, ...] = (1, 4, 16, 64, 256)) -> list[Scenario]:
    targets = {1: "p50 within 10 % of off", 64: "≥ 1.5 × ceiling"}
    return both_paths(*[
        Scenario(f"g{c}", f"hot product @ concurrency {c}", "create", c, hot=True, ceiling=True, target=targets.get(c, "")) for c in levels
    ])


ALL: list[Scenario] = [
    # The two table sizes back to back, so that the machine's drifting background load weighs on both
    # alike (run apart, the same code measured × 0.7 and × 1.6 on p99); the rest then runs on 100k+.
    Scenario("e10k", "ListOrders first page, 10k orders", "list", table_size=10_000, target="p99 flat 10k→100k"),
    Scenario("e100k", "ListOrders first page, 100k orders", "list", table_size=100_000, target="p99 flat 10k→100k"),
    *both_paths(Scenario("a", "CreateOrder, 1 random item of 1,000", "create", ceiling=True, target="≥ 0.45 × ceiling")),
    # a again with no events written: a ÷ this is what the outbox (and the relay publishing it) costs.
    Scenario("a" + NO_EVENTS, "CreateOrder, 1 random item of 1,000, events off", "create", ceiling=True, events=False),
    # The service's grpc.health.v1 Check (no database, no Redis) against a bare grpcio server of the
    # same shape answering the same call: what the service's own machinery costs per call.
    Scenario("h", "health Check vs a bare grpcio server", "health", floor=True, target="server CPU/call ≤ 1.3 × bare"),
    *both_paths(
        Scenario("b", "CreateOrder, 1 hot item", "create", hot=True, ceiling=True, target="≥ 1.2 × ceiling"),
        Scenario("c", "CreateOrder, 3 random items", "create", items=3, ceiling=True, target="≥ 0.55 × ceiling"),
    ),
    *hot_curve(),
    Scenario("d", "GetOrder, random existing order", "get", table_size=10_000, target="p99 ≤ 10 ms and ≥ 3 × a"),  # topped up, so `-s d` runs alone
    Scenario("f", "CreateOrder over REST (gateway), 1 random item", "rest", ceiling=True, target="≥ 0.35 × ceiling"),
    # One unit of one of 64 confirmed orders per call (bench/loadgen.py builds them): the order's lock,
    # then its product's, a shipment, its ledger row and events.
    Scenario("s", "CreateShipment, 1 unit of one of 64 open orders", "ship"),
    # The line of one of 64 pending orders, all of the hot product, set to 2 units and back to 1 (bench/loadgen.py
    # places them): the order's lock, then the hot product's (b's row), a ledger row, the order's and the stock's events.
    Scenario("m", "AmendOrder on a hot product, 1 ⇄ 2 units of one of 64 pending orders", "amend", hot=True, versus="b"),
]
BY_KEY = {s.key: s for s in ALL}
# Short names on the command line: "e" is both table sizes, "g" the whole hot-row curve (both paths),
# "a+", "b+", "c+" a scenario with batching on and off, and "events" a with events on and off.
GROUPS = {"e": ["e10k", "e100k"], "g": [s.key for s in ALL if s.key.startswith("g")], "events": ["a", "a" + NO_EVENTS]} | {
    f"{k}+": [k, k + OFF] for k in "abc"
}


def select(keys: list[str]) -> list[Scenario]:
    """The named scenarios, in the canonical order above."""
    wanted = {k for key in keys for k in GROUPS.get(key, [key])}
    unknown = wanted - BY_KEY.keys()
    if unknown:
        raise ValueError(f"unknown scenarios {sorted(unknown)}; known: {[s.key for s in ALL]} and groups {sorted(GROUPS)}")
    return [s for s in ALL if s.key in wanted]
