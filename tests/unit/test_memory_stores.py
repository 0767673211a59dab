"""The in-process stores of the embedded default stay bounded."""

from __future__ import annotations

from service.redis.idempotency_store import MemoryStore, Record, StoredOutcome
from service.redis.rate_limiter import MemoryLimiter, Rate


def test_the_memory_store_drops_its_oldest_records_past_its_capacity() -> None:
    store = MemoryStore(capacity=10)
    for i in range(25):
        store.claim(f"k{i}", Record(f"o{i}", "fp", StoredOutcome(0)), lease_s=3600)
    assert len(store._records) <= 10
    assert store.claim("k24", Record("x", "fp", None), lease_s=1) is not None  # the newest is kept
    assert store.claim("k0", Record("x", "fp", None), lease_s=1) is None  # the oldest was dropped


def test_the_memory_limiter_forgets_keys_that_carry_no_debt() -> None:
    now = [1000.0]
    limiter = MemoryLimiter(clock=lambda: now[0], capacity=5)
    rate = Rate(1, 1.0)
    for i in range(5):
        limiter.acquire(f"k{i}", rate)
    now[0] += 10
    limiter.acquire("new", rate)
    assert set(limiter._tat) == {"new"}


def test_the_memory_limiter_stays_at_its_capacity_when_every_key_is_in_debt_and_keeps_the_deepest_debts() -> None:
    now = [1000.0]
    limiter = MemoryLimiter(clock=lambda: now[0], capacity=10)
    hourly, daily = Rate(1, 3600.0), Rate(1, 86400.0)
    assert limiter.acquire("heavy", daily) == 0.0  # the deepest debt: a day
    for i in range(100):
        assert limiter.acquire(f"k{i}", hourly) == 0.0
    assert len(limiter._tat) <= 10
    assert limiter.acquire("heavy", daily) > 0
