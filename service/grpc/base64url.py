"""The unpadded base64url of the service's opaque tokens: List page tokens (grpc/paging.py) and
WatchOrderEvents resume tokens (events/resume_tokens.py)."""

from __future__ import annotations

import base64


def encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str) -> bytes:
    """Raises ValueError for text that is not base64 (binascii.Error, or a character outside ASCII); padding
    and the `+/` of plain base64 are taken too."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
