"""The secrets of one benchmark run: a JWT secret the server and the load generators share, and a
Redis key prefix of the run's own, whose keys are deleted afterwards (never FLUSHALL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import redis


@contextmanager
def secrets_of_this_run(server_env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """The server's settings plus ORDERS_JWT_SECRET and ORDERS_REDIS_KEY_PREFIX; BENCH_JWT_SECRET is
    set in this process's environment, which the load generators inherit (bench.auth:hs256)."""
    secret, prefix = secrets.token_urlsafe(32), f"bench-{secrets.token_hex(4)}:"
    os.environ["BENCH_JWT_SECRET"] = secret
    try:
        yield {"ORDERS_JWT_SECRET": secret, "ORDERS_REDIS_KEY_PREFIX": prefix, **server_env}
    finally:
        os.environ.pop("BENCH_JWT_SECRET", None)
        url = server_env.get("ORDERS_REDIS_URL")
        if url:
            client = redis.Redis.from_url(url)
            try:
                for key in client.scan_iter(match=prefix + "*", count=1000):
                    client.delete(key)
            except redis.RedisError:
                pass  # Redis is gone: nothing of ours is left to delete
            finally:
                client.close()
