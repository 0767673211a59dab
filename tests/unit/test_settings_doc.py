"""docs/configuration.md is the one table of settings, and it cannot drift from `Settings`: every field's
ORDERS_* variable is in it exactly once with its default, no row names a setting that does not exist,
and no page of the documentation names one either."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import MISSING, fields
from pathlib import Path

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
# A table row whose first cell is one setting: | `ORDERS_X` | default | meaning |
_ROW = re.compile(r"^\|\s*`(ORDERS_[A-Z0-9_]+)`\s*\|([^|]*)\|", re.M)
# A setting named in prose: not a wildcard (`ORDERS_TLS_*`), not the tests' own (`ORDERS_TEST_…`).
_NAMED = re.compile(r"\bORDERS_(?!TEST_)[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*\*)")
# Misspelt on purpose: docs/operations.md shows the error an unknown setting gets.
_DELIBERATE_TYPOS = {"ORDERS_GRPC_PROT"}


def _documented_default(value: object) -> str:
    """How the table writes a default: booleans in lower case, whole seconds without `.0`, "" as empty."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`" if value != "" else "empty"


def _settings() -> dict[str, str]:
    defaults = {}
    for field in fields(Settings):
        assert field.default is not MISSING, f"{field.name} has no plain default to document"
        defaults[f"ORDERS_{field.name.upper()}"] = _documented_default(field.default)
    return defaults


def _rows() -> list[tuple[str, str]]:
    return [(name, default.strip()) for name, default in _ROW.findall(CONFIGURATION.read_text())]


def test_every_setting_has_exactly_one_row() -> None:
    counts = Counter(name for name, _ in _rows())
    missing = sorted(set(_settings()) - set(counts))
    assert not missing, f"add a row to docs/configuration.md for each of {missing}"
    twice = sorted(name for name, n in counts.items() if n > 1)
    assert not twice, f"docs/configuration.md lists these settings more than once: {twice}"


def test_no_row_names_a_setting_that_does_not_exist() -> None:
    unknown = sorted({name for name, _ in _rows()} - set(_settings()))
    assert not unknown, f"docs/configuration.md has rows for settings that Settings does not have: {unknown}"


def test_every_row_shows_the_default_of_its_setting() -> None:
    defaults = _settings()
    wrong = [(name, shown, defaults[name]) for name, shown in _rows() if name in defaults and shown != defaults[name]]
    assert not wrong, f"(setting, default in the table, default in Settings): {wrong}"


def test_the_documentation_names_only_settings_that_exist() -> None:
    known = set(_settings()) | _DELIBERATE_TYPOS
    pages = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
    unknown = {
        (page.relative_to(ROOT).as_posix(), name)
        for page in pages
        for name in _NAMED.findall(page.read_text())
        if name not in known and name.removesuffix("_FILE") not in known
    }
    assert not unknown, f"(page, name): {sorted(unknown)}"
