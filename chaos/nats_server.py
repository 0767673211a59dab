"""A private nats-server with JetStream, on a free port with its own store, for tests that stop the broker."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsProcess:
    """Stopped and started again on the same port and store, so JetStream keeps its streams across."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("nats-server")
        if binary is None:
            raise RuntimeError("nats-server is not installed: apt-get install nats-server (bash .ci/run does it)")
        self._binary = binary
        self._store = workdir
        self.port = _free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._store.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [self._binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self._store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                if self._process.poll() is not None:
                    raise RuntimeError(f"nats-server exited with {self._process.returncode}") from None
                time.sleep(0.02)  # polling a real condition, bounded by the deadline
        raise RuntimeError("nats-server did not answer within 20 s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=20)
