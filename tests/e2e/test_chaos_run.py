"""`python -m chaos` end to end: a short run still injects several faults, and a run that injected none fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chaos.nemesis import injected
from tests.conftest import MYSQL_URL

ROOT = Path(__file__).resolve().parents[2]
# Faults that heal at once, so that the count depends on the spacing, not on how long a restart takes here.
_QUICK = "flush-redis,slow-redis,kill-db-connections"


def _chaos(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "chaos", "--clients", "2", "--seed", "5", "--mysql-url", MYSQL_URL, "--out", str(out), *args]
    return subprocess.run(command, cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)


def test_a_ten_second_run_injects_several_faults_and_keeps_every_invariant(tmp_path: Path) -> None:
    done = _chaos(tmp_path, "--duration", "10", "--faults", _QUICK)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert injected(summary["faults"]) >= 3 and summary["violations"] == 0


def test_a_run_that_injected_no_fault_says_so_and_fails(tmp_path: Path) -> None:
    done = _chaos(tmp_path, "--duration", "1", "--interval", "600", "--faults", _QUICK)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no fault was injected in 1 s" in done.stdout
    assert json.loads((tmp_path / "summary.json").read_text())["violations"] == 0
