"""The rate limit on the HTTP server's error logs: a flood costs a few lines and one count of the rest."""

from __future__ import annotations

import logging

import pytest

from service.runtime.logs import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_writes_n_lines_per_interval_then_one_line_counting_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    clock, logger = Clock(), logging.getLogger("tests.flood")
    limit = RateLimit(lines=3, interval_s=10.0, clock=clock)
    logger.addFilter(limit)
    try:
        for i in range(1000):
            logger.error("accept failed %d", i)
        clock.now += 10.0
        logger.error("later")
        logger.error("and again")
    finally:
        logger.removeFilter(limit)
    assert [r.getMessage() for r in caplog.records] == [
        "accept failed 0", "accept failed 1", "accept failed 2",
        "suppressed 997 log lines of tests.flood (at most 3 per 10 s)", "later", "and again",
    ]
