"""Rate limits (GCRA) per principal and method class, atomic in Redis or in process."""

from __future__ import annotations

import heapq
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from service.redis.guard import RedisGuard, Script, slot_key

# GCRA in one atomic step: read the theoretical arrival time, decide, write. Returns the seconds to
# wait as a string (a Lua number would be truncated to an integer reply). At a rate so high that
# one interval vanishes in floating point the expiry would be 0 ms, which SET refuses: at least 1.
_GCRA = Script("""
local now, interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then return tostring(allow_at - now) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.max(1, math.ceil((new_tat - now) * 1000)))
return '0'
""")


@dataclass(frozen=True)
class Rate:
    """`count` calls per `period_s`, all of them allowed in a burst."""

    count: int
    period_s: float

    @property
    def interval(self) -> float:
        return self.period_s / self.count

    @property
    def tolerance(self) -> float:
        return self.interval * (self.count - 1)

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """'100/s', '600/min' or 'off' (None)."""
        if text.strip().lower() == "off":
            return None
        match = re.fullmatch(r"\s*([1-9][0-9]*)\s*/\s*(s|min)\s*", text)
        if not match:
            raise ValueError(f"rate limit {text!r} is not N/s, N/min or off")
        return cls(int(match[1]), 1.0 if match[2] == "s" else 60.0)


class Limiter(ABC):
    @abstractmethod
    def acquire(self, key: str, rate: Rate) -> float:
        """0 if the call may proceed; otherwise the seconds until it would be allowed."""


class RedisLimiter(Limiter):
    def __init__(self, guard: RedisGuard, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._guard = guard
        self._prefix = prefix
        self._clock = clock

    def acquire(self, key: str, rate: Rate) -> float:
        args = [repr(self._clock()), repr(rate.interval), repr(rate.tolerance)]
        wait = self._guard.script("rate limit", b"0", _GCRA, [slot_key(self._prefix, "", key)], args)
        return float(wait)


class MemoryLimiter(Limiter):
    """The embedded default: the same algorithm for one process, holding at most `capacity` keys."""

    def __init__(self, clock: Callable[[], float] = time.time, capacity: int = 100_000) -> None:
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._capacity = capacity

    def acquire(self, key: str, rate: Rate) -> float:
        with self._lock:
            now = self._clock()
            if key not in self._tat and len(self._tat) >= self._capacity:
                self._make_room(now)
            tat = max(self._tat.get(key, now), now)
            if now < tat - rate.tolerance:
                return tat - rate.tolerance - now
            self._tat[key] = tat + rate.interval
            return 0.0

    def _make_room(self, now: float) -> None:
        # A key whose theoretical arrival time has passed carries no debt: forgetting it is exact.
        live = {k: tat for k, tat in self._tat.items() if tat > now}
        if len(live) >= self._capacity:
            # Every key is in debt: forget the smallest debts, those nearest to ending anyway, and a
            # tenth at once so that the next new keys find room without sorting again.
            keep = self._capacity - max(1, self._capacity // 10)
            live = dict(heapq.nlargest(keep, live.items(), key=lambda item: item[1]))
        self._tat = live
