"""WatchOrderEvents' resume tokens: an outbox position, signed, so that only tokens this service issued resume a watch.

A token is base64url(version, the position as 8 bytes, the first 16 bytes of an HMAC-SHA256 over
both). The key is derived from a secret of the service (ORDERS_WATCH_TOKEN_SECRET, else
ORDERS_JWT_SECRET). Several secrets rotate: the first signs, any of them verifies. A token holds no
time: how old it is, is judged from the outbox row it names.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from service.grpc import base64url

_VERSION = b"\x01"
_MAC_BYTES = 16
_POSITION_BYTES = 8
_LENGTH = 34  # base64 of 25 bytes, unpadded
_CONTEXT = b"erp-orders watch resume token v1"


class Signer:
    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("resume tokens need at least one secret")
        # A key of its own per use: a resume token is never a valid MAC for anything else signed with the secret.
        self._keys = [hmac.new(s.encode(), _CONTEXT, hashlib.sha256).digest() for s in secrets]

    def token(self, position: int) -> str:
        body = _VERSION + position.to_bytes(_POSITION_BYTES, "big")
        return base64url.encode(body + self._mac(self._keys[0], body))

    def position(self, text: str) -> int | None:
        """The position a token names, or None if this service did not issue it."""
        if len(text) != _LENGTH:
            return None
        try:
            raw = base64url.decode(text)
        except ValueError:
            return None
        body, mac = raw[: -_MAC_BYTES], raw[-_MAC_BYTES:]
        if not body.startswith(_VERSION) or not any(hmac.compare_digest(mac, self._mac(k, body)) for k in self._keys):
            return None
        position = int.from_bytes(body[len(_VERSION):], "big")
        return position if position > 0 else None

    @staticmethod
    def _mac(key: bytes, body: bytes) -> bytes:
        return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
