"""OrderEventService: WatchOrderEvents, streamed from the process's outbox feed (service/events/watch.py)."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc

from service.grpc import context as ctx
from service.grpc import status
from service.grpc.stream_slots import Slots
from service.events import watch
from service.events.resume_tokens import Signer
from service._gen.erp.orders.v1 import events_pb2, events_pb2_grpc
from service.domain.errors import FieldViolation, InvalidArgument, OrdersError
from service.grpc.errors import ResumeTokenExpired, TooManyWatchers, TooManyWatchersOfPrincipal, WatchTooSlow
from storage.keyset import parse_id
from storage.outbox import StoredEvent

log = logging.getLogger(__name__)

_IDLE_CHECK_S = 0.5  # how often an idle stream looks whether its client is gone
_INVALID_TOKEN = "RESUME_TOKEN_INVALID"


def _id(value: str) -> int | None:
    # An id that no row can have matches nothing (-1), as a filter on an unknown id matches nothing.
    return None if not value else (parse_id(value) or -1)


class OrderEventServicer(events_pb2_grpc.OrderEventServiceServicer):
    def __init__(self, feed: watch.Feed, tokens: Signer, retention_s: float, slots: tuple[int, int]) -> None:
        """`slots`: how many watchers this process serves at once, and how many of them one principal may hold."""
        self._feed = feed
        self._tokens = tokens
        self._retention = timedelta(seconds=retention_s)
        self._slots = Slots(*slots)  # the watch slots of this process

    def WatchOrderEvents(self, request: events_pb2.WatchOrderEventsRequest, context: grpc.ServicerContext) -> Iterator[events_pb2.OrderEvent]:
        # Everything that can refuse the call happens here, before the stream starts, so the
        # interceptors map it; the generator only streams.
        after = self._resume_point(request.resume_token)
        principal = ctx.identity.get().principal
        refused = self._slots.take(context, principal)
        if refused == "key":
            raise TooManyWatchersOfPrincipal(self._slots.per_key)
        if refused == "total":
            raise TooManyWatchers()
        sub = self._feed.subscribe(watch.Filter(_id(request.order_id), _id(request.customer_id)))
        context.add_callback(lambda: self._feed.unsubscribe(sub))
        sub.end = context.cancel
        # Sent with the response headers: the client (the gateway's SSE) knows the watch has started.
        ctx.respond_with(context, [(ctx.STREAM_STARTED, "true")])
        return self._stream(sub, after, context)

    def _resume_point(self, token: str) -> int | None:
        if not token:
            return None
        position = self._tokens.position(token)
        if position is None:
            violation = FieldViolation("resume_token", "is not a token this service issued", _INVALID_TOKEN)
            raise InvalidArgument([violation], reason=_INVALID_TOKEN)
        # Judged from the outbox's own record, never from the client: pruning deletes only events older
        # than the retention, so everything after a token whose event is still there and younger is too.
        happened = self._feed.event_time(position)
        if happened is None or happened < datetime.now(UTC) - self._retention:
            raise ResumeTokenExpired(self._retention.total_seconds())
        return position

    @staticmethod
    def _send(sub: watch.Subscription, event: events_pb2.OrderEvent) -> Iterator[events_pb2.OrderEvent]:
        """Yields the event; the yield returns once the transport has taken it."""
        sub.sending_since = time.monotonic()
        yield event
        sub.sending_since = None

    def _message(self, row: StoredEvent) -> events_pb2.OrderEvent:
        event: events_pb2.OrderEvent = events_pb2.OrderEvent.FromString(row.payload)
        event.resume_token = self._tokens.token(row.position)
        return event

    def _stream(self, sub: watch.Subscription, after: int | None, context: grpc.ServicerContext) -> Iterator[events_pb2.OrderEvent]:
        # Every event after `position` is delivered once, and none at or before it: the token's own
        # position, or where the live feed started. The feed of this process may stand before a
        # token issued by another one (it polls on its own, or holds at an id not yet committed).
        position = sub.start if after is None else after
        try:
            # Catch up from the outbox itself up to where the live feed starts: late commits included.
            for row in self._feed.history(position, sub.start):
                position = row.position
                if sub.filter.matches(row):
                    yield from self._send(sub, self._message(row))
            while context.is_active():
                if sub.overflowed:  # at once: what it still has queued would only pile up in the transport
                    # The token of its position: also for a watch that has delivered nothing yet, or
                    # whose catch-up passed events its filter skips.
                    raise WatchTooSlow(self._tokens.token(position) if position else "")
                try:
                    row = sub.events.get(timeout=_IDLE_CHECK_S)
                except queue.Empty:
                    if sub.failure:
                        raise sub.failure from None
                    continue
                if row.position > position:
                    position = row.position
                    yield from self._send(sub, self._message(row))
        except OrdersError as error:
            status.abort(context, error)
        except Exception:
            # A response stream's exception would reach the client as UNKNOWN with its text: the
            # interceptors have returned by now, so this is the stream's own error boundary.
            log.exception("WatchOrderEvents failed")
            context.abort_with_status(status.INTERNAL)
