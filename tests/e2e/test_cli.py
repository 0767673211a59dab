"""The erp-orders command fails in one clear line, and never makes up state where it was not asked to."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import jwt
from sqlalchemy.engine import make_url

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
