"""A private redis-server for the harness and for tests that flush or stop Redis: the shared server is never touched."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    def __init__(self, workdir: Path, *options: str, port: int = 0) -> None:
        """A new server; `port` reuses a stopped one's port, so its clients reconnect to the restarted server."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server (bash .ci/run does it)")
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir), *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if self._process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self._process.returncode}") from None
                time.sleep(0.02)  # polling a real condition, bounded by the deadline
        raise RuntimeError("redis-server did not answer within 20 s")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=20)
        self.client.close()


@contextmanager
def private_redis(workdir: Path, *options: str) -> Iterator[RedisProcess]:
    """A private redis-server; `options` are more of its command-line options (`--replicaof`, host, port)."""
    workdir.mkdir(parents=True, exist_ok=True)
    process = RedisProcess(workdir, *options)
    try:
        yield process
    finally:
        process.stop()
