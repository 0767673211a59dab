"""Calls Redis, failing open: when Redis is down, callers get a fallback and the service keeps taking orders."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis

from service import metrics

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisGuard:
    """After a failure, skips Redis for `pause_s` so that an outage costs one timeout, not one per call."""

    def __init__(self, client: redis.Redis, pause_s: float = 1.0) -> None:
        self.client = client
        self._pause_s = pause_s
        self._down_until = 0.0
        self._lock = threading.Lock()

    def call(self, what: str, action: Callable[[redis.Redis], T], fallback: T) -> T:
        if time.monotonic() < self._down_until:
            metrics.REDIS_FAILURES.labels(what).inc()
            return fallback
        try:
            return action(self.client)
        except redis.RedisError as error:
            metrics.REDIS_FAILURES.labels(what).inc()
            with self._lock:
                warn = time.monotonic() >= self._down_until
                self._down_until = time.monotonic() + self._pause_s
            if warn:
                log.warning("redis unavailable during %s, failing open for %.1f s: %s", what, self._pause_s, error)
            return fallback


def connect(url: str, timeout_s: float = 0.25) -> redis.Redis:
    # Short timeouts: Redis is a fast path in front of the database, never worth waiting for.
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
