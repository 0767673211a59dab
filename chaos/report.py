"""The run's figures: operations by outcome, faults by kind, indeterminate operations resolved, each invariant's verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from chaos.verdict import Verdict
from chaos.history import FAIL, INFO, OK, Operation


def summary(ops: Sequence[Operation], faults: Mapping[str, int], verdicts: Sequence[Verdict], restarts: Mapping[str, int]) -> dict[str, Any]:
    """`restarts`: how many times the harness started each process again after it died (service, relay)."""
    by_outcome = Counter((op.f, op.type) for op in ops)
    retried = [op for op in ops if op.had_indeterminate_attempt]
    return {
        "operations": len(ops),
        "by_outcome": {f: {t: by_outcome[(f, t)] for t in (OK, FAIL, INFO)} for f in sorted({op.f for op in ops})},
        "codes": dict(Counter(a.code for op in ops for a in op.attempts if a.code).most_common()),
        "indeterminate_attempts": sum(a.outcome == INFO for op in ops for a in op.attempts),
        "indeterminate_resolved": sum(op.type != INFO for op in retried),
        "indeterminate_unresolved": sum(op.type == INFO for op in ops),
        "faults": dict(sorted(faults.items())),
        "restarts": dict(restarts),
        "invariants": [{"name": v.name, "checked": v.checked, "ok": v.ok, "violations": v.violations} for v in verdicts],
        "violations": sum(len(v.violations) for v in verdicts),
    }


def render(s: Mapping[str, Any]) -> str:
    lines = ["| operation | ok | fail | info |", "|---|---|---|---|"]
    for f, row in s["by_outcome"].items():
        lines.append(f"| {f} | {row[OK]} | {row[FAIL]} | {row[INFO]} |")
    lines += ["", f"{s['operations']} operations; {s['indeterminate_attempts']} indeterminate attempts; "
              f"{s['indeterminate_resolved']} operations resolved by a retry with the same key, {s['indeterminate_unresolved']} left indeterminate",
              "codes: " + ", ".join(f"{c} {n}" for c, n in s["codes"].items()), "",
              "| fault | injected |", "|---|---|"]
    lines += [f"| {name} | {n} |" for name, n in s["faults"].items()]
    lines += [f"| ({process} restarts) | {n} |" for process, n in s["restarts"].items()]
    lines += ["", "| invariant | checked | verdict |", "|---|---|---|"]
    for v in s["invariants"]:
        verdict = "ok" if v["ok"] else f"VIOLATED ({len(v['violations'])})"
        lines.append(f"| {v['name']} | {v['checked']} | {verdict} |")
    for v in s["invariants"]:
        lines += [f"  {v['name']}: {why}" for why in v["violations"][:20]]
    return "\n".join(lines)
