"""Combines concurrent calls into batches, each run by the thread of one of its own callers.

Opportunistic, with no timer: a batch is whatever is waiting when a writer becomes free. A call
that finds a writer free becomes the writer at once (at concurrency 1 a batch is that one call);
otherwise it queues. A writer that finishes its batch hands the next batch, taken from the head of
the queue, to the first caller in it, so every batch runs on a thread whose caller waits for it.
Batches are bounded by a count of items and a total weight (an order's lines); an item heavier
than the cap still runs, alone.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("item", "weight", "done", "batch", "outcome", "error")

    def __init__(self, item: T, weight: int) -> None:
        self.item = item
        self.weight = weight
        # Held from the start and released once, by the writer that has this slot's answer (or hands it
        # a batch): a bare lock costs a fraction of a threading.Event (a Condition, its lock and a deque).
        self.done = threading.Lock()
        self.done.acquire()
        self.batch: list[_Slot[T, R]] | None = None  # set when this caller is to write a batch
        self.outcome: R | None = None
        self.error: BaseException | None = None


class Combiner(Generic[T, R]):
    """`run` gets a batch and returns one outcome per item, in order."""

    def __init__(
        self,
        run: Callable[[list[T]], list[R]],
        max_items: int,
        max_weight: int,
        weight: Callable[[T], int],
        writers: int = 1,
    ) -> None:
        self._run = run
        self._max_items = max_items
        self._max_weight = max_weight
        self._weight = weight
        self._free = writers  # writers not running a batch now
        self._queue: deque[_Slot[T, R]] = deque()
        self._lock = threading.Lock()

    def waiting(self) -> int:
        """Calls queued and not yet taken into a batch."""
        return len(self._queue)

    def submit(self, item: T) -> R:
        """Runs `item` in some batch and returns its outcome (or raises what `run` raised)."""
        slot: _Slot[T, R] = _Slot(item, self._weight(item))
        with self._lock:
            self._queue.append(slot)
            writer = self._free > 0
            if writer:
                self._free -= 1
                slot.batch = self._take()
        if not writer:
            slot.done.acquire()
        if slot.batch is not None:  # this caller writes a batch, its own call first in it
            self._write(slot.batch)
        if slot.error is not None:
            raise slot.error
        return slot.outcome  # type: ignore[return-value]

    def _take(self) -> list[_Slot[T, R]]:
        batch = [self._queue.popleft()]
        weight = batch[0].weight
        while self._queue and len(batch) < self._max_items and weight + self._queue[0].weight <= self._max_weight:
            weight += self._queue[0].weight
            batch.append(self._queue.popleft())
        return batch

    def _write(self, batch: list[_Slot[T, R]]) -> None:
        try:
            outcomes = self._run([s.item for s in batch])
            for s, outcome in zip(batch, outcomes, strict=True):  # one outcome per item
                s.outcome = outcome
        except BaseException as error:  # noqa: BLE001 - every caller of the batch gets it, none hangs
            for s in batch:
                s.error = error
        with self._lock:
            # The next batch starts before this one's callers are woken: the writer is the bottleneck.
            self._hand_on()
        for s in batch[1:]:  # the first is this writer's own slot, which waits no more
            s.done.release()

    def _hand_on(self) -> None:
        """A writer is done (under the lock): the next batch goes to its first caller, or the writer is free."""
        if self._queue:
            following = self._take()
            following[0].batch = following
            following[0].done.release()
        else:
            self._free += 1
