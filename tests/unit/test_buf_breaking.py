""".ci/buf-breaking compares the contract with a git revision's, offline, and fails on a breaking change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import codegen

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = Path("protos/erp/orders/v1/customer.proto")
EXTRA_FIELD = "\n  string legacy_note = 999;"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True, capture_output=True)


def _commit(repo: Path, customer_proto: str, message: str) -> None:
    (repo / CUSTOMER).write_text(customer_proto)
    _git(repo, "add", ".ci", "buf.yaml", "protos")
    _git(repo, "commit", "-q", "-m", message)


def _with_extra_field(proto: str) -> str:
    opening = proto.index("{", proto.index("message Customer "))
    return proto[: opening + 1] + EXTRA_FIELD + proto[opening + 1 :]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding this project's contract, the script, and the third-party protos."""
    if not codegen.GOOGLEAPIS.exists():
        codegen.materialize()
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "buf-breaking", repo / ".ci")
    shutil.copy(ROOT / "buf.yaml", repo)
    shutil.copytree(ROOT / "protos", repo / "protos")
    shutil.copytree(codegen.BUILD_PROTOS, repo / "build" / "protos")
    _git(repo, "init", "-q")
    return repo


def _check(repo: Path, *against: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    return subprocess.run([str(repo / ".ci" / "buf-breaking"), *against], cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def test_a_field_removed_since_the_previous_commit_fails_the_check(repo: Path) -> None:
    original = (ROOT / CUSTOMER).read_text()
    _commit(repo, _with_extra_field(original), "a field")
    _commit(repo, original, "the field removed")
    result = _check(repo)
    assert result.returncode != 0
    assert 'Previously present field "999" with name "legacy_note"' in result.stdout + result.stderr


def test_a_field_added_since_the_given_revision_passes(repo: Path) -> None:
    original = (ROOT / CUSTOMER).read_text()
    _commit(repo, original, "v1")
    _commit(repo, _with_extra_field(original), "a new field")
    result = _check(repo, "HEAD~1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no breaking change" in result.stdout
