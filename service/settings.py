"""All settings, read once from ORDERS_* environment variables into one typed object."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, get_type_hints

_PREFIX = "ORDERS_"


class SettingsError(ValueError):
    """A setting is unknown or cannot be parsed. The message says which and what was expected."""


@dataclass(frozen=True)
class Settings:
    # Storage
    database_url: str = "sqlite:///orders.db"
    db_pool_size: int = 16
    db_max_overflow: int = 8
    db_pool_timeout_s: float = 10.0
    # Lock contention: attempts of a whole use case, and the first backoff step.
    retry_attempts: int = 5
    retry_base_delay_ms: float = 5.0
    # Server
    grpc_host: str = "[::]"
    grpc_port: int = 50051
    grpc_workers: int = 32
    # Server processes sharing the port (SO_REUSEPORT). One process is GIL-bound at about one core.
    grpc_processes: int = 1
    max_message_bytes: int = 4 * 1024 * 1024
    shutdown_grace_s: float = 10.0
    # Domain
    currency: str = "BRL"
    # Redis, for rate limits and idempotency keys (empty: in-process stores).
    redis_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Reads ORDERS_<FIELD> variables. Unknown ORDERS_* variables are an error naming the nearest one."""
        env = os.environ if env is None else env
        hints = get_type_hints(cls)
        known = {_PREFIX + f.name.upper(): f.name for f in fields(cls)}
        for name in env:
            if name.startswith(_PREFIX) and name not in known:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {near[0]}?" if near else ""
                raise SettingsError(f"unknown setting {name}{hint}")
        values: dict[str, Any] = {}
        for var, attr in known.items():
            if var in env:
                values[attr] = _cast(var, env[var], hints[attr])
        return cls(**values)


def _cast(var: str, raw: str, kind: Any) -> Any:
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{var}={raw!r} is not a valid {getattr(kind, '__name__', kind)}") from None
