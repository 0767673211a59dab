"""Postal addresses ↔ the JSON text of their column: a snapshot that is read whole, never queried."""

from __future__ import annotations

import json
from dataclasses import asdict

from service.domain.model import PostalAddress


def to_json(address: PostalAddress | None) -> str | None:
    return None if address is None else json.dumps(asdict(address), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str | None) -> PostalAddress | None:
    if text is None:
        return None
    fields = json.loads(text)
    return PostalAddress(**{**fields, "address_lines": tuple(fields["address_lines"]), "recipients": tuple(fields["recipients"])})
