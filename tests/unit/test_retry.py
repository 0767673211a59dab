"""The retry wrapper re-runs a whole use case on lock contention, and only then."""

from __future__ import annotations

import pytest

from service.domain.errors import LockContention, NotFound
from service.usecases.retry import RetryPolicy, with_retry

FAST = RetryPolicy(attempts=4, base_delay=0.0, max_delay=0.0)


class Flaky:
    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.calls = 0
        self.failures = failures
        self.error = error or LockContention(1)

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def test_contention_is_retried_until_the_use_case_succeeds() -> None:
    use_case = Flaky(failures=3)
    assert with_retry(FAST, use_case) == "done"
    assert use_case.calls == 4


def test_after_the_last_attempt_the_error_says_how_many_were_made() -> None:
    use_case = Flaky(failures=10)
    with pytest.raises(LockContention) as caught:
        with_retry(FAST, use_case)
    assert use_case.calls == 4
    assert caught.value.metadata == {"attempts": "4"}


def test_other_errors_are_not_retried() -> None:
    use_case = Flaky(failures=1, error=NotFound("order", "1"))
    with pytest.raises(NotFound):
        with_retry(FAST, use_case)
    assert use_case.calls == 1


def test_no_retry_once_the_caller_has_stopped_waiting() -> None:
    use_case = Flaky(failures=10)
    with pytest.raises(LockContention):
        with_retry(FAST, use_case, expired=lambda: True)
    assert use_case.calls == 1
