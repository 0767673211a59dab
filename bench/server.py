"""Starts the service as a subprocess (`python -m service.runtime.cli serve`) on a free port and waits until it is SERVING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent  # the checkout whose `service` package is benchmarked


@dataclass(frozen=True)
class ServiceProcess:
    pid: int
    port: int
    http_port: int
    log: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_target(self) -> str:
        return f"127.0.0.1:{self.http_port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(database_url: str, port: int, http_port: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without its ORDERS_* settings, plus ours: the server sees only what we pass."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env |= {
        "ORDERS_DATABASE_URL": database_url, "ORDERS_GRPC_HOST": "127.0.0.1", "ORDERS_GRPC_PORT": str(port),
        "ORDERS_HTTP_HOST": "127.0.0.1", "ORDERS_HTTP_PORT": str(http_port),
    }
    return env | dict(extra)


@contextmanager
def running_service(database_url: str, extra_env: Mapping[str, str], log: Path, ready_timeout_s: float = 60) -> Iterator[ServiceProcess]:
    """The service, stopped with SIGTERM (then SIGKILL after 20 s) when the block ends."""
    port, http_port = free_port(), free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.runtime.cli", "serve"], env=service_env(database_url, port, http_port, extra_env),
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        serving(f"127.0.0.1:{port}", proc, log, ready_timeout_s)
        listening(http_port, proc, log, ready_timeout_s)  # the REST gateway starts after gRPC serves
        yield ServiceProcess(proc.pid, port, http_port, log)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    """Returns once 127.0.0.1:`port` accepts a connection; raises if `proc` exits or time runs out."""

    def accepts() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    _wait(accepts, f"listening on {port}", proc, log, timeout_s)


def serving(target: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    """Returns once `target` answers grpc.health.v1 SERVING; raises if `proc` exits or time runs out."""

    def healthy() -> bool:
        try:
            with grpc.insecure_channel(target) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    _wait(healthy, "SERVING", proc, log, timeout_s)


def _wait(ready: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode} before {what}; log {log}:\n{_tail(log)}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"the service was not {what} after {timeout_s:.0f} s; log {log}:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
