""".ci/mysql-server: an archive that does not serve Oracle MySQL skips the MySQL run, saying why."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:  # bound then released: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_archive_that_does_not_serve_mysql_skips_with_the_reason_and_starts_nothing(tmp_path: Path) -> None:
    archive = f"http://127.0.0.1:{_closed_port()}/debian"
    env = os.environ | {"ERP_ORDERS_MYSQL_CACHE": str(tmp_path / "cache"), "ERP_ORDERS_MYSQL_ARCHIVE": archive}
    done = subprocess.run([ROOT / ".ci" / "mysql-server", "start", tmp_path / "db"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 75, done.stderr  # .ci/run goes on after 75, and fails on any other error
    assert done.stdout == ""
    assert done.stderr.startswith(f"MySQL run skipped: Debian sid's archive ({archive}) does not serve mysql-server-core")
    assert not (tmp_path / "db").exists()
