"""Every relative link of the README and the docs/ pages reaches a file of the repository, and every
docs/ page is reachable from the README's table of pages."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_relative_links_reach_a_file() -> None:
    broken = [
        (page.relative_to(ROOT).as_posix(), target)
        for page in PAGES
        for target in _LINK.findall(page.read_text())
        if "://" not in target and not (page.parent / target).exists()
    ]
    assert not broken, f"(page, link): {broken}"


def test_the_readme_links_every_docs_page() -> None:
    linked = set(_LINK.findall((ROOT / "README.md").read_text()))
    unlinked = [page.name for page in sorted((ROOT / "docs").glob("*.md")) if f"docs/{page.name}" not in linked]
    assert not unlinked, f"add these pages to the README's table of pages: {unlinked}"
