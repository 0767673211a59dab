"""Throttles failed authentications per peer address, refusing a throttled peer before its token is checked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from service.grpc.errors import RateLimited
from service.redis.rate_limiter import Limiter, Rate

KIND = "unauthenticated"


class FailureThrottle:
    """Failures are counted in the shared limiter (Redis across processes), and only failures: a
    good token costs nothing more. Once a peer is over the rate, this process remembers until when,
    and refuses that peer's calls without touching the limiter or the token (the costly part, with
    RS256) until then. Every call of the peer is refused meanwhile, good tokens too: which ones are
    good is what checking them would cost.
    """

    def __init__(
        self, limiter: Limiter, rate: Rate | None, clock: Callable[[], float] = time.monotonic, capacity: int = 10_000
    ) -> None:
        self._limiter = limiter
        self._rate = rate
        self._clock = clock
        self._capacity = capacity
        self._blocked: dict[str, float] = {}  # peer → until (clock)
        self._lock = threading.Lock()

    def check(self, peer: str) -> None:
        """Raises RateLimited while `peer` is throttled."""
        until = self._blocked.get(peer)
        if until is not None:
            wait = until - self._clock()
            if wait > 0:
                raise RateLimited(KIND, wait)

    def failed(self, peer: str) -> None:
        """Counts one failure of `peer`; raises RateLimited if it was one too many."""
        if self._rate is None:
            return
        wait = self._limiter.acquire(f"rl:auth:{peer}", self._rate)
        if wait > 0:
            self._remember(peer, self._clock() + wait)
            raise RateLimited(KIND, wait)

    def _remember(self, peer: str, until: float) -> None:
        with self._lock:
            if peer not in self._blocked and len(self._blocked) >= self._capacity:
                now = self._clock()
                self._blocked = {p: u for p, u in self._blocked.items() if u > now}
            # Still full: every entry is live. The peer is still refused each time the limiter says
            # so, only after its token is checked.
            if peer in self._blocked or len(self._blocked) < self._capacity:
                self._blocked[peer] = until
