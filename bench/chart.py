"""A PNG of throughput and p99 per scenario, the service beside the raw ceiling (needs the `bench` extra)."""

from __future__ import annotations

from pathlib import Path

from bench.report import Outcome


def draw(outcomes: list[Outcome], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    shown = [o for o in outcomes if o.service]
    curve = [o for o in shown if o.scenario.key.startswith("g")]
    keys = [o.scenario.key for o in shown]
    x = range(len(shown))
    width = 0.4
    fig, axes = plt.subplots(3 if curve else 2, 1, figsize=(10, 9 if curve else 6.5))
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
        # The hot-row curve: one product, more and more buyers; throughput is bound by its row lock.
        levels = [o.scenario.concurrency for o in curve]
        axes[2].plot(levels, [o.service.throughput for o in curve], "o-", label="service", color="#3b75af")  # type: ignore[union-attr]
        axes[2].plot(levels, [o.ceiling.throughput if o.ceiling else 0 for o in curve], "o-", label="raw ceiling", color="#888888")
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
