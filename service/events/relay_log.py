"""The relay's life in the log: one line per change of state (started, connected, caught up, lost and
regained NATS or the database) and one per interval with what it published, never one per retry or event."""

from __future__ import annotations

import logging
import statistics

log = logging.getLogger("service.events.relay")


class RelayLife:
    """Called by the relay as things happen; decides what is worth a line. Not thread-safe: the relay
    calls it from its event loop and from the threads it awaits, one at a time."""

    def __init__(self, interval_s: float, now: float) -> None:
        self._interval_s = interval_s
        self._next_summary = now + interval_s
        self._lags: list[float] = []
        # Said once after the start and once after each outage, not every time a busy outbox drains.
        self._caught_up = False
        self._nats_down = self._database_down = self._stopping = False

    def started(self, owner: str, nats_url: str, stream: str) -> None:
        target = f"NATS {nats_url}, stream {stream}" if nats_url else "no ORDERS_NATS_URL: pruning the outbox only"
        log.info("relay %s: started (%s)", owner, target)

    def connected(self, nats_url: str, stream: str) -> None:
        self._nats_down = False
        log.info("relay: connected to NATS at %s, stream %s", nats_url, stream)

    def nats_unavailable(self, nats_url: str, error: object) -> None:
        """A failed connection attempt; only the first of an outage is logged (they are retried every second)."""
        if not self._nats_down:
            self._nats_down, self._caught_up = True, False
            log.warning("relay: NATS at %s unavailable (%s); events wait in the outbox, retrying every second", nats_url, error)

    def nats_lost(self) -> None:
        if not self._nats_down and not self._stopping:  # closing the connection on the way out is no loss
            self._nats_down, self._caught_up = True, False
            log.warning("relay: lost NATS; events wait in the outbox until it returns")

    def nats_regained(self) -> None:
        if self._nats_down:
            self._nats_down = False
            log.info("relay: regained NATS")

    def stopping(self) -> None:
        self._stopping = True
        log.info("relay: stopping; its leases are released")

    def database_lost(self, error: object, retry_s: float) -> None:
        if not self._database_down:
            self._database_down, self._caught_up = True, False
            log.warning("relay: the database is unavailable (%s); retrying every %g s", error, retry_s)

    def database_ok(self) -> None:
        if self._database_down:
            self._database_down = False
            log.info("relay: regained the database; leases are claimed afresh")

    def backlog(self, count: int) -> None:
        if count == 0 and not self._caught_up:
            self._caught_up = True
            log.info("relay: caught up: nothing left to publish in the outbox")

    def published(self, lag_s: float) -> None:
        self._lags.append(lag_s)

    def tick(self, now: float) -> None:
        """Once per interval, what was published in it (nothing when nothing was)."""
        if now < self._next_summary:
            return
        self._next_summary = now + self._interval_s
        lags, self._lags = self._lags, []
        if lags:
            log.info(
                "relay: published %d events in the last %g s, lag from change to PubAck p50 %.3f s, max %.3f s",
                len(lags), self._interval_s, statistics.median(lags), max(lags),
            )
