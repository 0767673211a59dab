"""WatchOrderEvents' feed: one reader thread per process tails the outbox and fans out to every watcher.

The reader polls the outbox by position only while someone watches: one query per poll interval
for the whole process, however many watchers. Outbox ids can commit out of order (a transaction
that took id 7 may commit after the one that took 8), so the reader never passes a gap at once: it
holds at the first missing position until that id commits or `gap_grace_s` has passed, and only
then gives up on it (a rolled-back change leaves such a hole for good). So a watcher misses an event
only if its transaction commits more than `gap_grace_s` after a later one. A resume catches up from
the outbox itself, holding at gaps the same way, up to where this process's reader stands, then
takes the reader's events after the token's position: each event after the token once, and none
at or before it, whichever process issued the token.

Each watcher has a bounded queue. A watcher that does not keep up overflows it and is ended with
ABORTED (reason WATCH_TOO_SLOW, the resume token of its last delivered event in the ErrorInfo) the
next time the transport takes an event from it, and reconnects from its token. One whose client
reads nothing at all leaves its stream waiting inside the transport (HTTP/2 flow control), where it
cannot end itself: the reader ends it (the client sees CANCELLED after the events already sent).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, exc

from service.domain.errors import OrdersError
from storage import outbox
from storage.driver_errors import translate

log = logging.getLogger(__name__)


@contextmanager
def _translated() -> Iterator[None]:
    """Database trouble as the domain error a client can act on (UNAVAILABLE or ABORTED), never the driver's text."""
    try:
        yield
    except exc.DBAPIError as error:
        translated = translate(error, _no_metrics)
        if translated is None:
            raise
        raise translated from error


def _no_metrics(_kind: str) -> None:
    """Lock conflicts of the watch feed's reads are not the use cases' lock metrics."""

_READ = 500
_STALLED_S = 1.0  # an overflowed watcher whose last event the transport has not taken for this long is ended


@dataclass(frozen=True)
class Filter:
    order_id: int | None = None
    customer_id: int | None = None

    def matches(self, e: outbox.StoredEvent) -> bool:
        return (
            e.aggregate_type == "order"
            and (self.order_id is None or e.aggregate_id == self.order_id)
            and (self.customer_id is None or e.customer_id == self.customer_id)
        )


@dataclass(eq=False)
class Subscription:
    filter: Filter
    start: int  # the reader queues every event after this position, and none before
    events: queue.Queue[outbox.StoredEvent] = field(default_factory=queue.Queue)
    overflowed: bool = False
    failure: OrdersError | None = None  # the reader could not read the outbox: the watch ends with it
    # Set by the stream while the transport has not yet taken its last event (HTTP/2 flow control:
    # the client reads nothing), with how to end it from outside then.
    sending_since: float | None = None
    end: Callable[[], object] = lambda: None


class Feed:
    def __init__(self, engine: Engine, poll_interval_s: float, gap_grace_s: float, queue_size: int) -> None:
        self._engine = engine
        self._poll = poll_interval_s
        self._grace = gap_grace_s
        self._grace_td = timedelta(seconds=gap_grace_s)
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._cursor: int | None = None  # the last position delivered (or given up on)
        self._gap_since: float | None = None
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stopped = False

    def subscribe(self, flt: Filter) -> Subscription:
        with self._lock:
            if self._cursor is None:
                with _translated():
                    self._cursor = outbox.last_position(self._engine)
            sub = Subscription(flt, self._cursor, queue.Queue(self._queue_size))
            self._subscribers.add(sub)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="watch-feed", daemon=True)
                self._thread.start()
            self._wake.notify()
            return sub

    def history(self, after: int, upto: int) -> Iterator[outbox.StoredEvent]:
        """The events in (after, upto], read from the outbox itself (a resume catching up), in position order.

        Like the reader, it never passes an id that may still commit: it holds at a missing one until
        it commits, or until the event after it is `gap_grace_s` old (a rolled-back id never commits).
        So a token from it never stands past an event that a later resume would have to go back for.
        """
        position = after
        while position < upto and (rows := [r for r in self._after(position) if r.position <= upto]):
            for row in rows:
                if row.position != position + 1 and datetime.now(UTC) - row.create_time < self._grace_td:
                    time.sleep(self._poll)  # hold at the gap, then read again from before it
                    break
                yield row
                position = row.position

    def event_time(self, position: int) -> datetime | None:
        """When the event at this position happened, or None if the outbox no longer holds it."""
        with _translated():
            return outbox.create_time_at(self._engine, position)

    def _after(self, position: int) -> list[outbox.StoredEvent]:
        with _translated():
            return outbox.after(self._engine, position, _READ)

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._subscribers and not self._stopped:
                    self._cursor = None  # nobody watches: start from the end when someone does
                    self._wake.wait()
                if self._stopped:
                    return
                cursor = self._cursor if self._cursor is not None else 0
            try:
                self._deliver(self._after(cursor), cursor)
                self._end_stalled()
            except OrdersError as error:
                # Every watcher ends with it (after what it has queued) and resumes from its token,
                # here or on another process; the next poll serves whoever watches then.
                log.warning("watch feed: reading the outbox failed (%s); ending the watches", error.reason)
                self._fail(error)
            except Exception:  # noqa: BLE001 - a bug: logged, and the next poll tries again
                log.exception("watch feed: reading the outbox failed; retrying")
            time.sleep(self._poll)

    def _end_stalled(self) -> None:
        """Ends the watchers that overflowed while the transport would take nothing more from them.

        Such a stream cannot end itself: its thread waits inside the transport until the client reads.
        """
        now = time.monotonic()
        with self._lock:
            stalled = [s for s in self._subscribers if s.overflowed and now - (s.sending_since or now) > _STALLED_S]
        for sub in stalled:
            sub.end()

    def _fail(self, error: OrdersError) -> None:
        with self._lock:
            for sub in self._subscribers:
                sub.failure = sub.failure or error

    def _deliver(self, rows: list[outbox.StoredEvent], cursor: int) -> None:
        for row in rows:
            if row.position != cursor + 1:
                now = time.monotonic()
                self._gap_since = self._gap_since or now
                if now - self._gap_since < self._grace:
                    break  # hold at the gap: the missing id may still commit
            self._gap_since = None
            cursor = row.position
            # The cursor moves and the row is queued under the lock that subscribe() takes: a new
            # watcher starts either before this row (and gets it) or after it (and its catch-up reads it).
            with self._lock:
                if self._cursor is None or row.position <= self._cursor:
                    continue  # nobody watched meanwhile, and a new watcher started past it
                self._cursor = row.position
                for sub in self._subscribers:
                    if not sub.overflowed and sub.filter.matches(row):
                        try:
                            sub.events.put_nowait(row)
                        except queue.Full:
                            sub.overflowed = True  # what it has queued is delivered, then it ends with its token

