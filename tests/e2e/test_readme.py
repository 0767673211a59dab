"""The front door stays true: the README's quickstart works and its tour runs; the walkthrough of
docs/getting-started.md (the gRPC block, the REST block, the shipping block, the returns block, then the amendment block) runs top to bottom, as written, in the
quickstart's directory (where `.venv` is the running interpreter's); and the checked command block of
docs/operations.md says what it runs."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from service._gen.erp.orders.v1 import order_pb2
from service.runtime.grpc_server import Running
from tests.helpers import Stubs, authorized_channel, product_env, until

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
OPERATIONS = ROOT / "docs" / "operations.md"
BIN = Path(sys.executable).parent


def _in_a_clone(folder: Path) -> Path:
    """The folder as a clone would look for the README's `.venv/bin/...` commands."""
    (folder / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    return folder


def _block_after(page: Path, marker: str) -> str:
    found = re.search(re.escape(marker) + r".*?```sh\n(.*?)```", page.read_text(), re.S)
    assert found, f"{page.name} lost the command block after {marker!r}"
    return found[1]


def _checked_block() -> list[tuple[str, str]]:
    """(command, expected text) for each line of the code block after the test's marker comment."""
    text = OPERATIONS.read_text()
    block = re.search(r"<!-- tests/e2e/test_readme.py .*?-->\n```sh\n(.*?)```", text, re.S)
    assert block, f"{OPERATIONS.name} lost its checked command block"
    lines = [line.split("# →") for line in block[1].splitlines() if line.strip()]
    return [(command.strip(), expected.strip()) for command, expected in lines]


def _env(**extra: str) -> dict[str, str]:
    return product_env(PATH=f"{BIN}:{os.environ.get('PATH', '')}", **extra)


def test_the_documented_configuration_commands_say_what_the_page_says(server: Running, tmp_path: Path) -> None:
    commands = _checked_block()
    assert len(commands) >= 3
    folder = _in_a_clone(tmp_path)
    for command, expected in commands:
        result = subprocess.run(
            ["bash", "-c", command], env=_env(ORDERS_GRPC_PORT=str(server.port)), cwd=folder,
            capture_output=True, text=True, timeout=60,
        )
        assert expected in result.stdout + result.stderr, (command, result.stdout, result.stderr)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _quickstart(folder: Path) -> Iterator[tuple[int, int]]:
    grpc_port, http_port = _free_port(), _free_port()
    env = _env(ORDERS_GRPC_PORT=str(grpc_port), ORDERS_HTTP_PORT=str(http_port))
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen([str(BIN / "erp-orders"), "serve"], env=env, cwd=folder, stdout=log, stderr=log)
    try:
        check = [str(BIN / "erp-orders"), "health", "--timeout", "1"]
        until(lambda: subprocess.run(check, env=env, cwd=folder, capture_output=True).returncode == 0, "the service is up", 60)
        yield grpc_port, http_port
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0
        log.close()


def test_the_quickstart_serves_on_the_embedded_defaults_with_no_configuration(tmp_path: Path) -> None:
    with _quickstart(tmp_path) as (grpc_port, http_port):
        env = _env(ORDERS_GRPC_PORT=str(grpc_port))
        subprocess.run([str(BIN / "erp-orders"), "seed"], env=env, cwd=tmp_path, check=True, capture_output=True)
        token = subprocess.run(
            shlex.split(f"{BIN / 'erp-orders'} token --sub alice"), env=env, cwd=tmp_path, check=True, capture_output=True, text=True
        ).stdout.strip()
        with authorized_channel(grpc_port, token) as channel:
            order = Stubs.on(channel).order("1", ("1", 2), ("3", 1))
            assert order.status == order_pb2.ORDER_STATUS_PENDING
            assert [h.actor for h in Stubs.on(channel).history(order.id)] == ["alice"]
        assert httpx.get(f"http://127.0.0.1:{http_port}/docs").status_code == 200
    assert (tmp_path / "orders.db").exists() and (tmp_path / "orders.jwt-secret").exists()
    assert "alembic" not in (tmp_path / "serve.log").read_text(), "a normal start logs no Alembic setup lines"


def _run(script: str, folder: Path, grpc_port: int, http_port: int) -> subprocess.CompletedProcess[str]:
    """Runs a documented block with `set -euo pipefail`: every command must succeed (curl -f turns an
    HTTP error into a failed command)."""
    script = script.replace("localhost:50051", f"localhost:{grpc_port}").replace("localhost:8080", f"localhost:{http_port}")
    script = script.replace("curl -s", "curl -sf")
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script], env=_env(), cwd=folder, capture_output=True, text=True, timeout=240
    )


def test_the_readme_tour_runs(tmp_path: Path) -> None:
    folder = _in_a_clone(tmp_path)
    with _quickstart(folder) as (grpc_port, http_port):
        tour = _block_after(README, "## A ten-line tour")
        assert len([line for line in tour.splitlines() if line.strip()]) <= 10
        result = _run(tour, folder, grpc_port, http_port)
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"status": "ORDER_STATUS_PENDING"' in result.stdout, "grpcurl printed the new order"
        assert '"orders":' in result.stdout, "curl listed the customer's orders"


def test_the_walkthrough_runs_top_to_bottom(tmp_path: Path) -> None:
    folder = _in_a_clone(tmp_path)
    before = set(folder.iterdir())
    with _quickstart(folder) as (grpc_port, http_port):
        script = "".join(
            _block_after(GETTING_STARTED, marker)
            for marker in ("## Walkthrough", "goes on over REST", "ships in parts", "come back", "changes before it ships")
        )
        result = _run(script, folder, grpc_port, http_port)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "idempotent-replayed: true" in result.stdout
        assert "HTTP/1.1 201 Created" in result.stdout and "location: /v1/orders/" in result.stdout.lower()
        canceled = re.findall(r'"status": ?"ORDER_STATUS_CANCELED"', result.stdout)
        assert len(canceled) == 2, "the gRPC order and the REST order are canceled"
        compact = re.sub(r"\s+", "", result.stdout)
        assert '"on_hand_quantity":"8","reserved_quantity":"1","available_quantity":"7"' in compact, "two of three earbuds shipped"
        assert '"status":"ORDER_STATUS_DELIVERED"' in compact, "the shipped order is delivered"
        assert '"kind":"STOCK_MOVEMENT_KIND_COUNT","delta":"-1"' in compact, "the count wrote its ledger row"
        assert '"kind":"STOCK_MOVEMENT_KIND_RETURN","delta":"1"' in compact, "the restock wrote its ledger row"
        assert '"disposition":"RETURN_DISPOSITION_SCRAP"' in compact and '"returnedQuantity":2' in compact, "both returns are on the order"
        assert "EXCEEDS_SHIPPED_QUANTITY" in result.stdout + result.stderr, "a third return is refused"
        assert '"shortages":[{"product_id":"2","requested_quantity":5,"available_quantity":"3"}]' in compact, "the preview's shortage"
        assert '"etag":"2"' in compact and '"reason":"amended:alaptoptoo"' in compact, "the amendment applied and is in the history"
    scratch = {p.name for p in set(folder.iterdir()) - before if not p.name.startswith(("orders.", "serve.log"))}
    assert not scratch, f"the walkthrough left scratch files in the clone: {sorted(scratch)}"
