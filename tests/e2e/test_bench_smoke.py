"""The benchmark harness still works end to end: `python -m bench --smoke` (scenario a, invariants, no timing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import MYSQL_URL

ROOT = Path(__file__).resolve().parents[2]


def test_the_smoke_run_places_orders_and_keeps_the_invariants(tmp_path: Path) -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--mysql-url", MYSQL_URL, "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "invariants: OK" in done.stdout
    assert "| a: CreateOrder" in done.stdout
