"""A PNG of throughput and p99 per scenario, the service beside the raw ceiling (needs the `bench` extra)."""

from __future__ import annotations

from pathlib import Path

from bench.report import Outcome


def draw(outcomes: list[Outcome], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    shown = [o for o in outcomes if o.service]
    keys = [o.scenario.key for o in shown]
    x = range(len(shown))
    width = 0.4
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
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
    bottom.set_xticks(list(x), keys)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
