"""The service under test, `erp-orders serve` with two workers, restarted on the same ports whenever it exits.

The supervisor replaces a dead worker itself; when the supervisor itself dies, a new one starts in
its place, as an orchestrator would start a new container.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from bench.processes import tree
from bench.server import ROOT, free_port, service_env, serving
from bench.server import stop as stop_process

READY_TIMEOUT_S = 60.0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Service:
    def __init__(self, database_url: str, extra_env: Mapping[str, str], log: Path) -> None:
        self.port, self.http_port = free_port(), free_port()
        self.target, self.base_url = f"127.0.0.1:{self.port}", f"http://127.0.0.1:{self.http_port}"
        self._env = service_env(database_url, self.port, self.http_port, extra_env)
        self._log = log
        self._lock = threading.Lock()
        self._restarted = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def workers(self) -> list[int]:
        """The live worker processes: the supervisor's spawned children, not multiprocessing's resource tracker."""
        with self._lock:
            pids = [] if self._proc is None else tree(self._proc.pid)[1:]
        return [pid for pid in pids if b"spawn_main" in _cmdline(pid)]

    def wait_serving(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until the current supervisor answers SERVING; one that exits meanwhile is replaced, and the wait goes on."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                proc = self._proc
            assert proc is not None
            try:
                serving(self.target, proc, self._log, max(1.0, deadline - time.monotonic()))
                return
            except RuntimeError:
                if proc.poll() is None or time.monotonic() > deadline:
                    raise
            self._stopping.wait(0.2)  # polling for the watcher's next supervisor, bounded by the deadline

    def supervisor(self) -> int:
        with self._lock:
            assert self._proc is not None
            return self._proc.pid

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
        with self._restarted:
            if not self._restarted.wait_for(lambda: self.restarts > since, timeout_s):
                raise RuntimeError(f"the service was not restarted within {timeout_s:.0f} s")
        self.wait_serving(timeout_s)

    def stop(self) -> None:
        self._stopping.set()
        self._terminate()
        self._watcher.join(timeout=60)
        self._terminate()  # the one the watcher may have started while we stopped the last

    def _terminate(self) -> None:
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            stop_process(proc)

    def _spawn(self) -> None:
        with self._log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=self._env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        with self._lock:
            self._proc = proc

    def _watch(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                proc = self._proc
            assert proc is not None
            proc.wait()
            if self._stopping.is_set():
                return
            self._spawn()
            with self._restarted:
                self.restarts += 1
                self._restarted.notify_all()
