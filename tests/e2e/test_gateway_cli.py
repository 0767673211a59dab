"""The two ways to run the gateway, as real processes: `erp-orders serve` (gRPC + REST) and `erp-orders gateway`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from service.runtime.grpc_server import Running
from tests.helpers import TEST_SECRET, product_env, token

AUTH = {"Authorization": f"Bearer {token('cli-test')}"}
_LISTENING = re.compile(r"REST gateway on [^\s:]+:(\d+) calling ([^\s\"]+)")


@contextmanager
def _erp_orders(*args: str, **env: str) -> Iterator[tuple[int, str]]:
    """Runs the command until it logs that the gateway listens; yields its port and target, then SIGTERMs it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "service.runtime.cli", *args],
        env=product_env(ORDERS_HTTP_HOST="127.0.0.1", ORDERS_HTTP_PORT="0", **env),
        stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    try:
        seen = []
        for line in process.stderr:  # ends at EOF if the process dies first
            seen.append(line)
            found = _LISTENING.search(line)
            if found:
                yield int(found.group(1)), found.group(2)
                break
        else:
            raise AssertionError("the gateway never listened:\n" + "".join(seen))
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    assert process.returncode == 0, rest


def test_gateway_command_serves_rest_for_a_remote_grpc_target(server: Running, mysql_url: str) -> None:
    with _erp_orders("gateway", "--grpc-target", f"127.0.0.1:{server.port}", ORDERS_DATABASE_URL=mysql_url) as (port, target):
        assert target == f"127.0.0.1:{server.port}"
        reply = httpx.get(f"http://127.0.0.1:{port}/v1/orders", params={"pageSize": 1}, headers=AUTH)
        assert reply.status_code == 200, reply.text


def test_serve_runs_the_gateway_next_to_grpc_and_calls_itself(mysql_url: str, server: Running) -> None:
    # `server` has migrated the database; this process serves the same one on free ports.
    env = {"ORDERS_DATABASE_URL": mysql_url, "ORDERS_GRPC_HOST": "127.0.0.1", "ORDERS_GRPC_PORT": "0", "ORDERS_JWT_SECRET": TEST_SECRET}
    with _erp_orders("serve", **env) as (port, target):
        assert target == "in-process"  # its own process's handlers, not the shared port
        body = {"sku": "CLI-" + os.urandom(4).hex().upper(), "name": "W", "price": {"units": "1"}}
        created = httpx.post(f"http://127.0.0.1:{port}/v1/products", json=body, headers=AUTH)
        assert created.status_code == 201, created.text
        assert httpx.get(f"http://127.0.0.1:{port}{created.headers['location']}", headers=AUTH).json() == created.json()
