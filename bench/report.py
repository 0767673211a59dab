"""Results of a run: targets checked, a Markdown table, and the JSON files (full, and the small summary kept in git)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.scenarios import NO_EVENTS, Scenario
from bench.stats import Window

# f (REST) runs its own ceiling, the shape of a, in the same windows. Issue 11's targets for group commit.
RATIO_TARGETS = {"a": 0.45, "b": 1.2, "c": 0.55, "f": 0.35, "g64": 1.5}
# At concurrency 1 a batch is one order: p50 with batching on within this of off.
SOLO_P50 = 1.10
GET_P99_MS, GET_VS_CREATE = 10.0, 3.0
# "p99 does not grow with table size": allowed noise between the 10k and the 100k runs.
LIST_GROWTH = 1.5
# h: the service's server CPU per health Check ÷ the bare grpcio server's (bench/floor.py).
FLOOR_CPU = 1.3


@dataclass
class Outcome:
    scenario: Scenario
    service: Window | None = None
    ceiling: Window | None = None
    note: str = ""
    met: bool | None = None  # None: no target, or it could not be judged in this run
    verdict: str = ""
    # service ÷ ceiling in each alternating round: how far the machine's drift moved the ratio
    round_ratios: list[float] = field(default_factory=list)
    batch_mean: float | None = None  # orders per transaction in the service's windows (creates only)
    batched_ceiling: Window | None = None  # the raw transaction with batch_mean orders each
    # Change → JetStream, p50 and p99 in ms, over this many events of the service's windows (a relay ran).
    event_lag_ms: tuple[float, float] | None = None
    events: int = 0

    def add_note(self, more: str) -> None:
        self.note = joined(self.note, more)

    @property
    def batched_ratio(self) -> float | None:
        if self.service and self.batched_ceiling and self.batched_ceiling.throughput:
            return round(self.service.throughput / self.batched_ceiling.throughput, 3)
        return None

    @property
    def ratio(self) -> float | None:
        if self.service and self.ceiling and self.ceiling.throughput:
            return round(self.service.throughput / self.ceiling.throughput, 3)
        return None


def joined(note: str, more: str) -> str:
    return f"{note}; {more}" if note else more


def price_the_outbox(outcomes: list[Outcome]) -> None:
    """Notes on each "-noevents" scenario its twin's throughput ÷ its own: what the outbox costs, as a ratio."""
    by_key = {o.scenario.key: o for o in outcomes}
    for o in outcomes:
        twin = by_key.get(o.scenario.key.removesuffix(NO_EVENTS)) if not o.scenario.events else None
        if twin and twin.service and o.service and o.service.throughput:
            o.add_note(f"{twin.scenario.key} ÷ {o.scenario.key} = {twin.service.throughput / o.service.throughput:.2f}")


def compare(outcomes: list[Outcome]) -> None:
    """Notes on each scenario with a `versus` its throughput ÷ that scenario's, when both ran."""
    by_key = {o.scenario.key: o for o in outcomes}
    for o in outcomes:
        other = by_key.get(o.scenario.versus)
        if other and other.service and other.service.throughput and o.service:
            o.add_note(f"{o.scenario.key} ÷ {other.scenario.key} = {o.service.throughput / other.service.throughput:.2f}")


def judge(outcomes: list[Outcome]) -> None:
    """Fills met/verdict for every scenario that has a target and the data to judge it."""
    by = {o.scenario.key: o for o in outcomes if o.service}
    for o in outcomes:
        key = o.scenario.key
        if o.service is None:
            continue
        if key in RATIO_TARGETS and o.ratio is not None:
            o.met, o.verdict = o.ratio >= RATIO_TARGETS[key], f"{o.ratio:.2f} vs ≥ {RATIO_TARGETS[key]:.2f}"
        elif key == "d":
            fast = o.service.p99 <= GET_P99_MS
            if "a" in by:
                times = o.service.throughput / by["a"].service.throughput  # type: ignore[union-attr]
                o.met, o.verdict = fast and times >= GET_VS_CREATE, f"p99 {o.service.p99:.1f} ms, {times:.1f} × a"
            else:
                o.verdict = f"p99 {o.service.p99:.1f} ms (run a to compare throughput)"
        elif o.scenario.floor and o.ceiling is not None and (ours := server_ms(o.service)) and (bare := server_ms(o.ceiling)):
            times = ours / bare
            o.met = times <= FLOOR_CPU
            o.verdict = f"server CPU/call {ours:.2f} vs bare {bare:.2f} ms = {times:.2f} × bare (≤ {FLOOR_CPU}); calls/s {o.ratio:.2f} × bare"
        elif key == "g1" and "g1-off" in by:
            slower = o.service.p50 / max(by["g1-off"].service.p50, 1e-9)  # type: ignore[union-attr]
            o.met, o.verdict = slower <= SOLO_P50, f"p50 {slower:.2f} × off"
        elif key == "e100k" and "e10k" in by:
            growth = o.service.p99 / max(by["e10k"].service.p99, 1e-9)  # type: ignore[union-attr]
            o.met, o.verdict = growth <= LIST_GROWTH, f"p99 {growth:.2f} × the 10k run"


def _ratio(o: Outcome) -> str:
    if o.ratio is None:
        return "—"
    spread = f" ({min(o.round_ratios):.2f}–{max(o.round_ratios):.2f})" if len(o.round_ratios) > 1 else ""
    return f"{o.ratio:.2f}{spread}"


def server_ms(w: Window | None) -> float | None:
    """Server CPU per call (ms): steadier from run to run than throughput on a shared machine."""
    return None if w is None or not w.throughput or "server" not in w.cpu else 1000 * w.cpu["server"] / w.throughput


def _batch(o: Outcome) -> str:
    return "—" if o.batch_mean is None else f"{o.batch_mean:.1f}"


def _batched(o: Outcome) -> str:
    b = o.batched_ceiling
    return "—" if b is None else f"{b.throughput:,.0f} ({o.batched_ratio:.2f})"


def _server_ms(w: Window | None) -> str:
    ms = server_ms(w)
    return "—" if ms is None else f"{ms:.2f}"


def _cpu(w: Window | None) -> str:
    if w is None:
        return "—"
    return "/".join(f"{w.cpu.get(k, 0):.2f}" for k in ("server", "db", "client", "machine"))


def _ceiling_cpu(w: Window | None) -> str:
    return "—" if w is None else f"{w.cpu.get('db', 0):.2f}/{w.cpu.get('client', 0):.2f}"


def _errors(w: Window | None) -> str:
    if w is None:
        return "—"
    bad = {k: v for k, v in w.statuses.items() if k != "OK"}
    return ", ".join(f"{k} {v}" for k, v in sorted(bad.items())) or "0"


def markdown(outcomes: list[Outcome]) -> str:
    head = (
        "| scenario | conc | service/s | ceiling/s | ratio (rounds) | mean batch | batched ceiling/s (× it) | p50 ms | p99 ms "
        "| max ms | ceiling p99 ms | non-OK | server CPU ms/call | CPU server/db/client/machine (cores) | ceiling CPU db/client "
        "| target | verdict |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|---|\n"
    )
    rows = []
    for o in outcomes:
        s, c, sc = o.service, o.ceiling, o.scenario
        mark = {True: "✅ ", False: "❌ ", None: ""}[o.met]
        rows.append(
            f"| {sc.key}: {sc.title} | {sc.concurrency} | {f'{s.throughput:,.0f}' if s else '—'} "
            f"| {f'{c.throughput:,.0f}' if c else '—'} | {_ratio(o)} | {_batch(o)} | {_batched(o)} "
            f"| {f'{s.p50:.1f}' if s else '—'} | {f'{s.p99:.1f}' if s else '—'} | {f'{s.max:.1f}' if s else '—'} "
            f"| {f'{c.p99:.1f}' if c else '—'} | {_errors(s)} | {_server_ms(s)} | {_cpu(s)} "
            f"| {_ceiling_cpu(c)} "
            f"| {sc.target or '—'} | {mark}{o.verdict or o.note or '—'} |"
        )
    notes = [f"- {o.scenario.key}: {o.note}" for o in outcomes if o.note]
    return head + "\n".join(rows) + ("\n\n" + "\n".join(notes) if notes else "") + "\n"


def to_json(outcomes: list[Outcome], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "scenarios": [
            {
                "scenario": asdict(o.scenario), "service": o.service.to_json() if o.service else None,
                "ceiling": o.ceiling.to_json() if o.ceiling else None, "ratio": o.ratio, "round_ratios": o.round_ratios,
                "event_lag_ms": o.event_lag_ms, "events": o.events, "batch_mean": o.batch_mean,
                "batched_ceiling": o.batched_ceiling.to_json() if o.batched_ceiling else None, "batched_ratio": o.batched_ratio,
                "met": o.met,
                "verdict": o.verdict, "note": o.note,
            }
            for o in outcomes
        ],
    }


def write(outcomes: list[Outcome], meta: dict[str, Any], out: Path, stamp: str) -> list[Path]:
    """Writes run-<stamp>.json (full), summary.json and summary.md (in bench/results, the files kept in git)."""
    out.mkdir(parents=True, exist_ok=True)
    data = to_json(outcomes, meta)
    paths = [out / f"run-{stamp}.json", out / "summary.json", out / "summary.md"]
    paths[0].write_text(json.dumps(data, indent=1, ensure_ascii=False))
    paths[1].write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    md = f"# Benchmark summary ({meta.get('started', stamp)})\n\nCommand: `{meta.get('command', '')}`\n\n"
    paths[2].write_text(md + _meta_lines(meta) + "\n" + markdown(outcomes))
    return paths


def _meta_lines(meta: dict[str, Any]) -> str:
    keys = ("machine", "load_before", "load_after", "warmup_s", "duration_s", "rounds", "server_env", "client_procs", "table_orders")
    return "".join(f"- {k}: {meta[k]}\n" for k in keys if k in meta)
