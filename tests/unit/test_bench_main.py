"""Tests for bench.__main__: where a run writes, so that only a deliberate run replaces the committed results."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BUILD, COMMITTED, results_folder


def test_a_run_writes_under_build_unless_told_where() -> None:
    assert results_folder(None, update_results=False) == BUILD
    assert results_folder(Path("elsewhere"), update_results=False) == Path("elsewhere")


def test_only_update_results_writes_the_committed_folder() -> None:
    assert results_folder(None, update_results=True) == COMMITTED
    with pytest.raises(ValueError, match="--update-results"):
        results_folder(COMMITTED, update_results=False)
    with pytest.raises(ValueError, match="no --out"):
        results_folder(Path("elsewhere"), update_results=True)
