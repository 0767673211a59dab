"""Exports the creates as a Jepsen `set-full` history (EDN and JSON), so elle-cli or Jepsen can cross-check them.

Each create is an :add of its idempotency key; a final :read lists the keys of every order in the
database. `java -jar elle-cli.jar --model set-full history.edn` then reports lost and stale adds.
(elle-cli needs Java 21; the harness only writes the files.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_NS = 1_000_000_000


def jepsen_ops(events: Iterable[dict[str, Any]], stored_keys: Iterable[str]) -> list[dict[str, Any]]:
    """Invoke/complete pairs for the creates in history order, then the final read of the database."""
    ops = list(_adds(events))
    last = max((op["time"] for op in ops), default=0)
    read = {"process": -1, "f": "read"}
    ops += [read | {"type": "invoke", "value": None, "time": last + 1}, read | {"type": "ok", "value": sorted(stored_keys), "time": last + 2}]
    return [op | {"index": i} for i, op in enumerate(ops)]


def _adds(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for e in events:
        if e.get("f") == "create" and e["type"] in ("invoke", "ok", "fail", "info"):
            yield {"type": e["type"], "f": "add", "value": e["key"], "process": e["process"], "time": int(e["time"] * _NS)}


def edn(op: dict[str, Any]) -> str:
    fields = " ".join(f":{k} {_edn_value(k, v)}" for k, v in op.items())
    return "{" + fields + "}"


def _edn_value(key: str, value: Any) -> str:
    if key in ("type", "f"):
        return f":{value}"
    if value is None:
        return "nil"
    if isinstance(value, list):
        return "#{" + " ".join(json.dumps(v) for v in value) + "}"
    return json.dumps(value)


def export(history: Path, stored_keys: Iterable[str], out_dir: Path) -> tuple[Path, Path]:
    events = [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines() if line]
    ops = jepsen_ops(events, stored_keys)
    edn_path, json_path = out_dir / "history.edn", out_dir / "history.elle.json"
    edn_path.write_text("".join(edn(op) + "\n" for op in ops), encoding="utf-8")
    json_path.write_text("".join(json.dumps(op) + "\n" for op in ops), encoding="utf-8")
    return edn_path, json_path
