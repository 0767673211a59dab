"""The service under test, `erp-orders serve` with two workers, restarted on the same ports whenever it exits.

The supervisor replaces a dead worker itself; when the supervisor itself dies, a new one starts in
its place (chaos/supervised.py), as an orchestrator would start a new container.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path

from bench.processes import tree
from bench.server import free_port, service_env, serving
from chaos.supervised import RESTART_TIMEOUT_S, Supervised

READY_TIMEOUT_S = RESTART_TIMEOUT_S


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Service(Supervised):
    def __init__(self, database_url: str, extra_env: Mapping[str, str], log: Path) -> None:
        self.port, self.http_port = free_port(), free_port()
        self.target, self.base_url = f"127.0.0.1:{self.port}", f"http://127.0.0.1:{self.http_port}"
        env = service_env(database_url, self.port, self.http_port, extra_env)
        super().__init__([sys.executable, "-m", "service.runtime.cli", "serve"], env, log)

    def workers(self) -> list[int]:
        """The live worker processes: the supervisor's spawned children, not multiprocessing's resource tracker."""
        return [pid for pid in tree(self.supervisor())[1:] if b"spawn_main" in _cmdline(pid)]

    def wait_serving(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until the current supervisor answers SERVING; one that exits meanwhile is replaced, and the wait goes on."""
        deadline = time.monotonic() + timeout_s
        while True:
            proc = self.current()
            try:
                serving(self.target, proc, self._log, max(1.0, deadline - time.monotonic()))
                return
            except RuntimeError:
                if proc.poll() is None or time.monotonic() > deadline:
                    raise
            self._stopping.wait(0.2)  # polling for the watcher's next supervisor, bounded by the deadline

    def supervisor(self) -> int:
        return self.current().pid

    def wait_replaced(self, pid: int, workers: int, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until `pid` is no longer a worker, `workers` workers run, and the service is SERVING."""
        deadline = time.monotonic() + timeout_s
        while pid in (running := self.workers()) or len(running) != workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {pid} was not replaced within {timeout_s:.0f} s (workers {running})")
            self._stopping.wait(0.1)  # polling the process table, bounded by the deadline
        self.wait_serving(timeout_s)

    def wait_restarted(self, since: int, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until a supervisor after restart number `since` is SERVING (the dying one may still answer for a moment)."""
        super().wait_restarted(since, timeout_s)
        self.wait_serving(timeout_s)
