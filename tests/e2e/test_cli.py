"""The erp-orders command fails in one clear line, and never makes up state where it was not asked to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import jwt
from sqlalchemy.engine import make_url

from bench.server import free_port
from storage.migrate import head
from tests.helpers import product_env

ERP_ORDERS = str(Path(sys.executable).parent / "erp-orders")


def _run(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ERP_ORDERS, *args], cwd=folder, env=product_env(**env), capture_output=True, text=True, timeout=120)


def test_token_never_creates_a_secret_and_names_where_it_looked(tmp_path: Path) -> None:
    result = _run(tmp_path, "token", "--sub", "alice")
    assert result.returncode == 2 and result.stdout == ""
    assert f"no JWT secret at {tmp_path / 'orders.jwt-secret'}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_token_signs_with_the_secret_serve_generated_in_that_directory(tmp_path: Path) -> None:
    (tmp_path / "orders.jwt-secret").write_text("the-server-secret-of-32-bytes-or-more\n")
    token = _run(tmp_path, "token", "--sub", "alice").stdout.strip()
    assert jwt.decode(token, "the-server-secret-of-32-bytes-or-more", algorithms=["HS256"])["sub"] == "alice"


def test_seed_where_there_is_no_database_says_so_and_creates_none(tmp_path: Path) -> None:
    result = _run(tmp_path, "seed")
    assert result.returncode == 2
    assert f"no database at {tmp_path / 'orders.db'}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_migrate_says_what_it_changed(tmp_path: Path) -> None:
    first, again = _run(tmp_path, "migrate"), _run(tmp_path, "migrate")
    assert first.stdout == f"migrated sqlite:///orders.db from an empty database to {head()}\n"
    assert again.stdout == f"sqlite:///orders.db is already at revision {head()}\n"
    assert "alembic" not in first.stderr + again.stderr


def test_migrate_against_a_missing_database_prints_one_line(mysql_url: str, tmp_path: Path) -> None:
    missing = make_url(mysql_url).set(database=f"orders_test_missing_{uuid.uuid4().hex[:8]}")
    result = _run(tmp_path, "migrate", ORDERS_DATABASE_URL=missing.render_as_string(hide_password=False))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"erp-orders: cannot use the database {missing.render_as_string(hide_password=True)}: "
        f"(1049, \"Unknown database '{missing.database}'\")"
    ]


def test_serve_prints_where_to_reach_grpc_rest_and_the_docs_once_it_listens(tmp_path: Path) -> None:
    grpc_port, http_port = free_port(), free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    env = {**clean, "ORDERS_GRPC_HOST": "127.0.0.1", "ORDERS_GRPC_PORT": str(grpc_port), "ORDERS_HTTP_PORT": str(http_port)}
    serve = subprocess.Popen([ERP_ORDERS, "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert serve.stdout is not None
        lines: list[str] = []
        while len(lines) < 3:  # after the embedded database's migration line
            line = serve.stdout.readline()
            assert line, "serve ended before it printed its addresses"
            lines += [] if line.startswith("migrated ") else [line.rstrip("\n")]
        with httpx.Client() as http:
            docs = http.get(f"http://localhost:{http_port}/docs")  # listening by the time it says so
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=60)
    assert lines == [
        f"gRPC  127.0.0.1:{grpc_port}  (grpcurl -plaintext 127.0.0.1:{grpc_port} list)",
        f"REST  http://localhost:{http_port}/v1/orders",
        f"docs  http://localhost:{http_port}/docs  (OpenAPI: http://localhost:{http_port}/openapi.json)",
    ]
    assert docs.status_code == 200
