"""An invariant's verdict: what it looked at and what it found broken."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    name: str
    checked: int  # how many things the invariant looked at, so "0 violations" of nothing shows
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations
