"""Re-runs a whole use case when the database reports lock contention."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from service.domain.errors import LockContention, Rerun

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` and `base_delay` come from ORDERS_RETRY_* (service/runtime/bootstrap.py)."""

    attempts: int
    base_delay: float
    max_delay: float = 0.2  # the backoff's cap: not a setting


def with_retry(
    policy: RetryPolicy,
    use_case: Callable[[], T],
    on_retry: Callable[[], None] | None = None,
    expired: Callable[[], bool] | None = None,
) -> T:
    """Runs `use_case` until it stops raising Rerun (lock contention, a key a concurrent call took), at
    most `policy.attempts` times, and never once `expired()` says the caller has stopped waiting.

    Each attempt is a fresh transaction: a deadlock victim's work was rolled back, so only the whole
    read-lock-decide-write sequence can be repeated safely. Full jitter keeps racing clients from
    colliding again in lockstep.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return use_case()
        except Rerun:
            if attempt == policy.attempts or (expired is not None and expired()):
                raise LockContention(attempt) from None
            if on_retry:
                on_retry()
            time.sleep(random.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt)))
    raise AssertionError("unreachable")
