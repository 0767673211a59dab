"""A private Redis Cluster of three masters on free ports, for tests: started, checked, removed."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _free_cluster_port(taken: set[int]) -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20000, 55000)
        if not {port, port + 10000} & taken and _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: apt-get install redis-server redis-tools (bash .ci/run does it)")
    return path


class RedisCluster:
    """`url` is what the service takes (ORDERS_REDIS_URL); `kill(port)` stops one master for good."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        taken: set[int] = set()
        for _ in range(masters):
            taken |= {port := _free_cluster_port(taken), port + 10000}
        self.ports = sorted(p for p in taken if p - 10000 not in taken)
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        for port in self.ports:
            node_dir = workdir / str(port)
            node_dir.mkdir(parents=True)
            self._processes[port] = subprocess.Popen(
                [_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", str(node_dir / "nodes.conf"), "--cluster-node-timeout", "1000",
                 "--save", "", "--appendonly", "no", "--dir", str(node_dir)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        try:
            self._until(lambda: all(self._answers(p) for p in self.ports), "every node answers PING")
            subprocess.run(
                [_binary("redis-cli"), "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                check=True, capture_output=True, timeout=60,
            )
            self._until(lambda: all(self.state(p) == "ok" for p in self.ports), "cluster_state:ok on every node")
        except BaseException:
            self.stop()
            raise

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.ports[0])

    def state(self, port: int) -> str:
        try:
            with redis.Redis(port=port, socket_timeout=1) as node:
                return str(node.cluster("INFO")["cluster_state"])
        except redis.RedisError:
            return "unreachable"

    def kill(self, port: int) -> None:
        self._processes[port].kill()
        self._processes[port].wait(timeout=20)

    def stop(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self._processes.values():
            process.wait(timeout=20)

    def _answers(self, port: int) -> bool:
        try:
            with redis.Redis(port=port, socket_timeout=1) as node:
                return bool(node.ping())
        except redis.RedisError:
            return False

    def _until(self, condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            exited = [port for port, p in self._processes.items() if p.poll() is not None]
            if exited:
                raise RuntimeError(f"Redis Cluster: redis-server on {exited} exited while waiting until {what}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis Cluster: timed out waiting until {what}")
            time.sleep(0.05)  # polling a real condition, bounded by the deadline


@contextmanager
def private_cluster(workdir: Path) -> Iterator[RedisCluster]:
    cluster = RedisCluster(workdir)
    try:
        yield cluster
    finally:
        cluster.stop()
