"""The failed-authentication throttle: counts only failures, remembers blocked peers, stays bounded."""

from __future__ import annotations

import pytest

from service.grpc.auth_throttle import FailureThrottle
from service.grpc.errors import RateLimited
from service.redis.rate_limiter import MemoryLimiter, Rate


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_peer_over_the_rate_is_refused_until_its_wait_ends_and_others_are_not() -> None:
    clock = Clock()
    throttle = FailureThrottle(MemoryLimiter(clock), Rate(2, 60.0), clock)
    throttle.failed("a")
    throttle.failed("a")
    with pytest.raises(RateLimited) as refused:
        throttle.failed("a")
    assert refused.value.retry_after_s == pytest.approx(30.0)
    with pytest.raises(RateLimited):
        throttle.check("a")
    throttle.check("b")
    clock.now += 30.0
    throttle.check("a")


def test_blocked_peers_are_bounded_and_expired_ones_make_room() -> None:
    clock = Clock()
    throttle = FailureThrottle(MemoryLimiter(clock), Rate(1, 60.0), clock, capacity=1)
    for peer in ("a", "b"):
        throttle.failed(peer)
        with pytest.raises(RateLimited):
            throttle.failed(peer)
    with pytest.raises(RateLimited):
        throttle.check("a")
    throttle.check("b")  # no room while a's block lasts; b is still refused by the limiter itself
    clock.now += 61.0
    throttle.failed("b")
    with pytest.raises(RateLimited):
        throttle.failed("b")
    with pytest.raises(RateLimited):
        throttle.check("b")
