"""The supervisor's restart policy: backoff that grows with recent crashes, and a crash loop to give up on."""

from __future__ import annotations

from service.runtime.restarts import RestartPolicy


def test_crashes_back_off_doubling_and_the_limit_within_the_window_is_a_crash_loop() -> None:
    policy = RestartPolicy(limit=4, window_s=60.0)
    assert [policy.crashed(t) for t in (0.0, 1.0, 2.0)] == [0.5, 1.0, 2.0]
    assert policy.crashed(3.0) is None


def test_crashes_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy(limit=3, window_s=10.0)
    assert policy.crashed(0.0) == 0.5
    assert policy.crashed(5.0) == 1.0
    assert policy.crashed(12.0) == 1.0  # the one at 0 s has left the window
    assert policy.crashed(14.0) is None


def test_the_backoff_is_capped() -> None:
    policy = RestartPolicy(limit=100, window_s=1000.0)
    assert [policy.crashed(float(t)) for t in range(7)][-1] == 10.0
