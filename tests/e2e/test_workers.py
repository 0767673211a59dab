"""`serve` with ORDERS_GRPC_PROCESSES=2: two workers answer on one port and both stop cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine

from bench.processes import tree
from bench.server import ROOT, free_port, service_env
from tests.helpers import TEST_SECRET, until


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _serving(target: str) -> bool:
    try:
        with grpc.insecure_channel(target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def test_two_worker_processes_serve_one_port_and_stop_on_sigterm(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    port = free_port()
    extra = {"ORDERS_GRPC_PROCESSES": "2", "ORDERS_SHUTDOWN_GRACE_S": "1", "ORDERS_JWT_SECRET": TEST_SECRET}
    env = service_env(mysql_url, port, free_port(), extra)
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        log_text = lambda: (tmp_path / "serve.log").read_text()  # noqa: E731
        until(lambda: log_text().count("REST gateway on") >= 2, "both workers serve gRPC and REST", 60)
        workers = [pid for pid in tree(proc.pid) if "spawn_main" in _cmdline(pid)]
        assert _serving(f"127.0.0.1:{port}"), (tmp_path / "serve.log").read_text()
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "workers stopped (exit codes [0, 0])" in (tmp_path / "serve.log").read_text()
    assert not [pid for pid in workers if "spawn_main" in _cmdline(pid)]
