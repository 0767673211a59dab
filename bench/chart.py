"""A PNG of throughput and p99 per scenario, the service beside the raw ceiling (where matplotlib is: the `bench` extra)."""

from __future__ import annotations

from pathlib import Path

from bench.report import Outcome


NOT_INSTALLED = "no chart: matplotlib is not installed (pip install -e '.[bench]' draws chart.png); the numbers are in the summary"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(outcomes: list[Outcome], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    shown = [o for o in outcomes if o.service]
    curve = [o for o in shown if o.scenario.key.startswith("g") and o.scenario.batching]
    curve_off = {o.scenario.concurrency: o for o in shown if o.scenario.key.startswith("g") and not o.scenario.batching}
    keys = [o.scenario.key for o in shown]
    x = range(len(shown))
    width = 0.4
    fig, axes = plt.subplots(3 if curve else 2, 1, figsize=(max(10, 0.5 * len(shown)), 9 if curve else 6.5))
    top, bottom = axes[0], axes[1]
    for ax, attr, label in ((top, "throughput", "throughput (ops/s)"), (bottom, "p99", "p99 latency (ms)")):
        ours = [getattr(o.service, attr) for o in shown]
        ceiling = [getattr(o.ceiling, attr) if o.ceiling else 0 for o in shown]
        ax.bar([i - width / 2 for i in x], ours, width, label="service", color="#3b75af")
        ax.bar([i + width / 2 for i in x], ceiling, width, label="raw ceiling", color="#bbbbbb")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    for i, o in enumerate(shown):
        if o.ratio is not None:
            top.annotate(f"{o.ratio:.2f}×", (i, o.service.throughput), ha="center", va="bottom", fontsize=8)  # type: ignore[union-attr]
    top.legend()
    top.set_title("Service vs raw-SQL ceiling, same run (ratio = service / ceiling)")
    top.set_xticks(list(x), keys)
    bottom.set_xticks(list(x), keys)
    if curve:
        # The hot-row curve: one product, more and more buyers. One order per transaction is bound by
        # the row lock; group commit holds it once per batch.
        levels = [o.scenario.concurrency for o in curve]
        axes[2].plot(levels, [o.service.throughput for o in curve], "o-", label="service, group commit", color="#3b75af")  # type: ignore[union-attr]
        off = [(c, curve_off[c].service.throughput) for c in levels if c in curve_off]  # type: ignore[union-attr]
        if off:
            axes[2].plot(*zip(*off, strict=True), "o--", label="service, batching off", color="#d08b3a")
        axes[2].plot(levels, [o.ceiling.throughput if o.ceiling else 0 for o in curve], "o-", label="raw ceiling (1 order/tx)", color="#888888")
        batched = [(o.scenario.concurrency, o.batched_ceiling.throughput) for o in curve if o.batched_ceiling]
        if batched:
            axes[2].plot(*zip(*batched, strict=True), "s:", label="raw ceiling, batched (mean batch/tx)", color="#555555")
        axes[2].set_xscale("log", base=2)
        axes[2].set_xticks(levels, [str(c) for c in levels])
        axes[2].set_xlabel("concurrency (hot product)")
        axes[2].set_ylabel("throughput (ops/s)")
        axes[2].grid(alpha=0.3)
        axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
