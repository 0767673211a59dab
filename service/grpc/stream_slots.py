"""Slots of the streams that hold a handler thread while open: StreamLimit's (grpc/interceptors/streams.py)
and WatchOrderEvents' (events/servicer.py). A slot is taken when the call starts and given back when the
call ends, however it ends (done, cancelled, deadline), exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Literal

import grpc


class Slots:
    """At most `total` slots held at once, and at most `per_key` by one key (a principal); no bound per key by default."""

    def __init__(self, total: int, per_key: int | None = None) -> None:
        self.total = total
        self.per_key = total if per_key is None else per_key
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, context: grpc.ServicerContext, key: str = "") -> Literal["key", "total"] | None:
        """Takes a slot for the call until it ends: None, or the bound that left none free."""
        with self._lock:
            if self._held[key] >= self.per_key:
                return "key"
            if self._held.total() >= self.total:
                return "total"
            self._held[key] += 1
        if not context.add_callback(lambda: self._give_back(key)):  # the call has already ended
            self._give_back(key)
        return None

    def _give_back(self, key: str) -> None:
        with self._lock:
            self._held[key] -= 1
            if not self._held[key]:
                del self._held[key]
