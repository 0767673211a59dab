"""CPU accounting from /proc: cores used by a process tree (server, database, Redis, client) over a window."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system time of one process, all its threads included; 0 if it is gone."""
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (every process, ours and everyone else's)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _TICK


def tree(pid: int) -> list[int]:
    """The process and all its live descendants (forked server workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def pids_named(name: str) -> list[int]:
    """Processes whose command name is exactly `name` (e.g. mariadbd, redis-server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclass
class CpuMeter:
    """Cores used by named groups of processes between start() and stop().

    `self` is this process; `machine` is every core's busy time, so load from other work shows.
    """

    groups: Mapping[str, Iterable[int]]
    _start: dict[str, float] = field(default_factory=dict)
    _t0: float = 0.0

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(cpu_seconds(pid) for root in pids for pid in tree(root)) for name, pids in self.groups.items()}
        times = os.times()
        sample["self"] = times.user + times.system
        sample["machine"] = machine_busy_seconds()
        return sample

    def start(self) -> None:
        self._start, self._t0 = self._sample(), time.monotonic()

    def stop(self) -> dict[str, float]:
        """Cores used per group (CPU seconds / wall seconds)."""
        end, wall = self._sample(), time.monotonic() - self._t0
        return {name: round((end[name] - self._start[name]) / wall, 3) for name in end}
