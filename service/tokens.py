"""JWT bearer tokens: verifying the ones clients send, and minting them for operators (HS256)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from service.domain.errors import Unauthenticated

_LEEWAY_S = 30  # tolerated clock skew between the token issuer and this server


@dataclass(frozen=True)
class Identity:
    principal: str
    roles: frozenset[str]


class TokenVerifier:
    """Checks signature, expiry and the `sub` claim. `roles` is a list of strings (or one string).

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
            claims = jwt.decode(
                token, self._key, algorithms=[self._algorithm], audience=self._audience, issuer=self._issuer,
                leeway=_LEEWAY_S, options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid token ({type(error).__name__})") from None
        roles = claims.get("roles", [])
        if isinstance(roles, str):
            roles = roles.split()
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated("the roles claim must be a list of strings")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise Unauthenticated("the sub claim must be a non-empty string")
        return Identity(claims["sub"], frozenset(roles)), float(claims["exp"])


def mint(secret: str, sub: str, roles: Iterable[str], ttl_s: int, audience: str = "", issuer: str = "") -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "roles": sorted(roles), "iat": now, "exp": now + ttl_s}
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
