"""Token factories for the load generator's `authorization: Bearer` header, chosen by --token-factory module:function.

A factory takes no arguments and returns a token. It is called once per load-generator process,
so it may be slow (e.g. sign a JWT); the token must stay valid for the whole run.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable

TokenFactory = Callable[[], str]


def load(path: str) -> TokenFactory | None:
    """The factory named "package.module:function", or None for an empty path (no header sent)."""
    if not path:
        return None
    module, _, name = path.partition(":")
    factory: TokenFactory = getattr(importlib.import_module(module), name)
    return factory


def static() -> str:
    """The token in BENCH_TOKEN, as is."""
    return os.environ["BENCH_TOKEN"]


def hs256() -> str:
    """An HS256 JWT signed with BENCH_JWT_SECRET; BENCH_JWT_CLAIMS (JSON) adds or overrides claims."""
    import jwt  # PyJWT: only needed when this factory is chosen

    now = int(time.time())
    roles = ["catalog.admin", "orders.fulfil", "orders.read", "orders.write"]
    claims = {"sub": "bench", "roles": roles, "iat": now, "exp": now + 3600} | json.loads(os.environ.get("BENCH_JWT_CLAIMS", "{}"))
    return str(jwt.encode(claims, os.environ["BENCH_JWT_SECRET"], algorithm="HS256"))
