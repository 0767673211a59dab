"""Order ids made by the service: time-ordered 63-bit integers, with no counter in the database.

Layout, high bits first: 41 bits of milliseconds since 2025-01-01 UTC (until 2094), 10 bits of
node, 12 bits of sequence. Why not the table's AUTO_INCREMENT: a group commit inserts many orders in
one statement, and with MySQL 8's `innodb_autoinc_lock_mode=2` the values one multi-row INSERT gets
need not be consecutive, so `LAST_INSERT_ID() + i` could name another transaction's row; and a
sharded deployment wants ids that no central counter hands out.

- Time first: a later order has a larger id within a process, and across processes up to their
  clocks' skew, so "newest first" and keyset pages by id keep their meaning (older orders have small
  AUTO_INCREMENT ids, below every id made here).
- The node is drawn at random per process. Two processes sharing one (1 in 1,024 per pair) collide
  only on the same millisecond and sequence number; such an INSERT fails on the primary key, which
  storage.driver_errors translates into LockContention, and the order is re-run with a fresh id. The
  primary key, not the node, is what guarantees uniqueness.
- Each millisecond's sequence starts at a random point of its lower half, so two processes on one
  node do not both start at 0; when a millisecond's numbers run out the next one is borrowed, and
  the clock part never goes backwards when the wall clock does.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable

_EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_NODE_BITS, _SEQUENCE_BITS = 10, 12
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000 - _EPOCH_MS


class IdSource:
    """Thread-safe. `node` and `clock_ms` (milliseconds since the epoch above) are for tests."""

    def __init__(self, node: int | None = None, clock_ms: Callable[[], int] = _wall_ms) -> None:
        self._node = random.getrandbits(_NODE_BITS) if node is None else node
        self._clock = clock_ms
        self._ms = -1  # the millisecond of the last id
        self._sequence = 0

    def take(self, n: int) -> list[int]:
        """n new ids, ascending."""
        out = []
        with _LOCK:
            for _ in range(n):
                now = self._clock()
                self._sequence += 1
                if now > self._ms or self._sequence > _SEQUENCE_MASK:
                    # A new millisecond (or the next one borrowed, when this one is used up) starts
                    # at a random point of the lower half, so two processes on one node rarely meet.
                    self._ms = max(now, self._ms + 1)
                    self._sequence = random.getrandbits(_SEQUENCE_BITS - 1)
                out.append((self._ms << (_NODE_BITS + _SEQUENCE_BITS)) | (self._node << _SEQUENCE_BITS) | self._sequence)
        return out


_LOCK = threading.Lock()
_source = IdSource()


def new_ids(n: int) -> list[int]:
    """n fresh order ids of this process, ascending."""
    return _source.take(n)


def _reset_after_fork() -> None:
    # A forked child must not continue its parent's node and sequence (spawned workers import afresh).
    global _source
    _source = IdSource()


os.register_at_fork(after_in_child=_reset_after_fork)
