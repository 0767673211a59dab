"""The benchmark harness still works end to end: `python -m bench --smoke` (scenario a, invariants, no timing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import MYSQL_URL

ROOT = Path(__file__).resolve().parents[2]


# `python -m bench` on a machine without matplotlib (CI installs only the dev extra): the import fails as it would there.
_WITHOUT_MATPLOTLIB = "import sys; sys.modules['matplotlib'] = None; from bench.__main__ import main; sys.exit(main(sys.argv[1:]))"


def test_the_smoke_run_places_orders_keeps_the_invariants_and_leaves_the_committed_results_alone(tmp_path: Path) -> None:
    committed = {path.name: path.read_bytes() for path in (ROOT / "bench" / "results").glob("summary.*")}
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_MATPLOTLIB, "--smoke", "--mysql-url", MYSQL_URL, "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "invariants: OK" in done.stdout
    assert "| a: CreateOrder" in done.stdout
    assert "no chart: matplotlib is not installed" in done.stdout and "no chart" in done.stderr
    assert "| a: CreateOrder" in (tmp_path / "summary.md").read_text() and not (tmp_path / "chart.png").exists()
    assert {path.name: path.read_bytes() for path in (ROOT / "bench" / "results").glob("summary.*")} == committed


def test_the_in_process_measurement_runs_each_use_case_and_drops_its_database() -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.inprocess", "--mysql-url", MYSQL_URL, "-n", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("  CPU")[0].strip() for line in lines] == [
        "CreateOrder use case (with key)", "GetOrder use case", "unit of work, no statement",
    ]
    server = create_engine(MYSQL_URL)
    with server.connect() as conn:
        assert conn.execute(text(r"SHOW DATABASES LIKE 'bench\_%\_inproc'")).all() == []
    server.dispose()
