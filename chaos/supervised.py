"""A process the harness keeps running: started again whenever it exits, as an orchestrator would
start a new container, until the harness stops it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.server import ROOT
from bench.server import stop as stop_process

RESTART_TIMEOUT_S = 60.0


class Supervised:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self._argv, self._env, self._log = list(argv), dict(env), log
        self._lock = threading.Lock()
        self._restarted = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def current(self) -> subprocess.Popen[bytes]:
        with self._lock:
            assert self._proc is not None
            return self._proc

    def wait_restarted(self, since: int, timeout_s: float = RESTART_TIMEOUT_S) -> None:
        """Until the process has been started again after restart number `since`."""
        with self._restarted:
            if not self._restarted.wait_for(lambda: self.restarts > since, timeout_s):
                raise RuntimeError(f"{self._argv[-1]} was not restarted within {timeout_s:.0f} s")

    def stop(self) -> None:
        self._stopping.set()
        self._terminate()
        if self._watcher.is_alive():
            self._watcher.join(timeout=60)
        self._terminate()  # the one the watcher may have started while we stopped the last

    def _terminate(self) -> None:
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            stop_process(proc)

    def _spawn(self) -> None:
        with self._log.open("ab") as out:
            proc = subprocess.Popen(self._argv, env=self._env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        with self._lock:
            self._proc = proc

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self.current()
            proc.wait()
            if self._stopping.is_set():
                return
            self._spawn()
            with self._restarted:
                self.restarts += 1
                self._restarted.notify_all()
