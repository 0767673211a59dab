"""JWT bearer tokens: verifying the ones clients send, and minting them for operators (HS256)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from service.grpc.errors import Unauthenticated

_LEEWAY_S = 30  # tolerated clock skew between the token issuer and this server
MAX_SUBJECT_CHARS = 255  # the actor columns of the history and the ledger


@dataclass(frozen=True)
class Identity:
    principal: str
    roles: frozenset[str]


class TokenVerifier:
    """Checks the signature and the claims: `exp` a number, not passed; `sub` 1-255 printable
    characters; `roles` a list of strings.

    A token's signature is checked once: clients send the same token on every call, and verifying it
    again cost more CPU than the rest of a read. Expiry is still checked on every call.
    """

    _CACHE_SIZE = 10_000

    def __init__(self, key: str, algorithm: str, audience: str = "", issuer: str = "") -> None:
        self._key = key
        self._algorithm = algorithm
        self._audience = audience or None
        self._issuer = issuer or None
        self._verified: dict[str, tuple[Identity, float]] = {}  # token → (identity, expiry)

    def verify(self, token: str) -> Identity:
        cached = self._verified.get(token)
        if cached is not None:
            if cached[1] + _LEEWAY_S > time.time():
                return cached[0]
            raise Unauthenticated("the token has expired")
        identity, expiry = self._decode(token)
        if len(self._verified) >= self._CACHE_SIZE:
            self._verified.clear()  # a crude bound; long-lived clients re-enter at once
        self._verified[token] = (identity, expiry)
        return identity

    def _decode(self, token: str) -> tuple[Identity, float]:
        try:
            # Expiry is checked below, once the claim is known to be a number.
            claims = jwt.decode(
                token, self._key, algorithms=[self._algorithm], audience=self._audience, issuer=self._issuer,
                leeway=_LEEWAY_S, options={"require": ["exp", "sub"], "verify_exp": False},
            )
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid token ({type(error).__name__})") from None
        identity, expiry = Identity(_subject(claims["sub"]), _roles(claims.get("roles", []))), _expiry(claims["exp"])
        if expiry + _LEEWAY_S <= time.time():
            raise Unauthenticated("the token has expired")
        return identity, expiry


def _subject(sub: object) -> str:
    # The principal is the actor of history and ledger rows (255 characters) and goes into logs.
    if not isinstance(sub, str) or not 1 <= len(sub) <= MAX_SUBJECT_CHARS or not sub.isprintable():
        raise Unauthenticated(f"the sub claim must be 1-{MAX_SUBJECT_CHARS} printable characters")
    return sub


def _roles(roles: object) -> frozenset[str]:
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the roles claim must be a list of strings")
    return frozenset(roles)


def _expiry(exp: object) -> float:
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        raise Unauthenticated("the exp claim must be a number of seconds since the epoch")
    return float(exp)


def mint(secret: str, sub: str, roles: Iterable[str], ttl_s: int, audience: str = "", issuer: str = "") -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "roles": sorted(roles), "iat": now, "exp": now + ttl_s}
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
