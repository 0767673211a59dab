"""The run's history: one JSON object per line, an invoke then an ok, fail or info completion per operation.

An operation is one logical client call. Its retries (same idempotency key) are attempts inside it:
the completion lists every attempt's outcome, so a checker sees both the final answer and whether
an earlier attempt ended indeterminate (and so may have taken effect).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OK, FAIL, INFO = "ok", "fail", "info"


@dataclass(frozen=True)
class Attempt:
    """One try of an operation: `ok`, a definite error code, or an indeterminate one."""

    outcome: str  # OK, FAIL or INFO
    code: str = ""  # gRPC code name for fail and info
    reason: str = ""  # ErrorInfo reason, when the server sent one


@dataclass(frozen=True)
class Operation:
    """A completed operation, as the checker reads it back."""

    process: int
    f: str  # create, cancel, status, adjust, read, forged_watch
    key: str  # idempotency key ("" for reads)
    request: dict[str, Any]
    type: str  # OK, FAIL or INFO
    invoke_time: float
    complete_time: float
    response: dict[str, Any] = field(default_factory=dict)
    attempts: tuple[Attempt, ...] = ()
    transport: str = "grpc"

    @property
    def code(self) -> str:
        return self.attempts[-1].code if self.attempts else ""

    @property
    def had_indeterminate_attempt(self) -> bool:
        return any(a.outcome == INFO for a in self.attempts)


class HistoryWriter:
    """Appends events from many client threads; each line is written whole under a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._out = path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the run started."""
        return round(time.monotonic() - self._t0, 6)

    def invoke(self, process: int, f: str, key: str, request: dict[str, Any], transport: str) -> float:
        t = self.now()
        self._write({"type": "invoke", "process": process, "f": f, "key": key, "request": request, "time": t, "transport": transport})
        return t

    def complete(self, op: Operation) -> None:
        event = {k: v for k, v in asdict(op).items() if k not in ("invoke_time", "complete_time")}
        self._write(event | {"time": op.complete_time, "invoke_time": op.invoke_time})

    def nemesis(self, fault: str, what: str) -> None:
        self._write({"type": "nemesis", "f": fault, "value": what, "time": self.now()})

    def close(self) -> None:
        with self._lock:
            self._out.close()

    def _write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), sort_keys=True)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def read(path: Path) -> list[Operation]:
    """The completed operations of a history file; an invoke with no completion (run cut short) is indeterminate."""
    return list(operations(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line))


def operations(events: Iterable[dict[str, Any]]) -> Iterator[Operation]:
    pending: dict[int, dict[str, Any]] = {}
    for e in events:
        if e["type"] == "nemesis":
            continue
        if e["type"] == "invoke":
            pending[e["process"]] = e
            continue
        pending.pop(e["process"], None)
        attempts = tuple(Attempt(**a) for a in e.get("attempts", ()))
        yield Operation(
            process=e["process"], f=e["f"], key=e["key"], request=e["request"], type=e["type"], invoke_time=e["invoke_time"],
            complete_time=e["time"], response=e.get("response", {}), attempts=attempts, transport=e.get("transport", "grpc"),
        )
    for e in pending.values():
        yield Operation(e["process"], e["f"], e["key"], e["request"], INFO, e["time"], e["time"], transport=e["transport"])
