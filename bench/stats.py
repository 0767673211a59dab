"""One measured window: throughput, latency percentiles, status counts and CPU, as plain JSON-able data."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Window:
    """What a load generator (ours or the ceiling) measured. Latencies are in milliseconds."""

    seconds: float
    ok: int
    statuses: dict[str, int]
    throughput: float
    p50: float
    p90: float
    p99: float
    max: float
    cpu: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence; 0 when empty."""
    if not ordered:
        return 0.0
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(0, min(len(ordered), rank) - 1)]


def summarize(seconds: float, latencies_ns: Sequence[int], statuses: Counter[str], cpu: dict[str, float]) -> Window:
    """Latencies of successful calls completed inside the window; throughput counts successes only."""
    ordered = sorted(ns / 1e6 for ns in latencies_ns)
    ok = statuses.get("OK", 0)

    def r(x: float) -> float:
        return round(x, 3)

    return Window(
        seconds=r(seconds), ok=ok, statuses=dict(statuses), throughput=round(ok / seconds, 1) if seconds else 0.0,
        p50=r(percentile(ordered, 50)), p90=r(percentile(ordered, 90)), p99=r(percentile(ordered, 99)),
        max=r(ordered[-1] if ordered else 0.0), cpu=cpu,
    )
