"""The relay: publishes the outbox to NATS JetStream, each aggregate's events in sequence order.

Runs as `erp-orders relay`, or inside `serve` with ORDERS_RELAY_IN_SERVE. Any number may run: each
publishes only the partitions it leases (storage/leases.py), so one aggregate's events go through
one relay at a time. Per aggregate it publishes event n only after n − 1 got its PubAck, and marks
events published only after theirs. Whatever is published but not marked (a crash, a lost lease)
is published again by whoever holds the partition next, and the stream drops it: `Nats-Msg-Id` is
the event id, and the stream's duplicate window outlasts that retry horizon.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError
from sqlalchemy import Engine, exc

from service import metrics
from service._gen.erp.orders.v1 import events_pb2
from service.domain.errors import LockContention, StorageUnavailable
from service.domain.events import event_id
from service.events.relay_log import RelayLife
from service.settings import Settings
from storage import outbox
from storage.driver_errors import translate
from storage.leases import Leases

log = logging.getLogger(__name__)

PAYLOADS: dict[str, Any] = {"order": events_pb2.OrderEvent, "product": events_pb2.ProductStockEvent}
_CONTENT_TYPES = {"protobuf": "application/protobuf", "json": "application/json"}
_PUBLISH_TIMEOUT_S = 5.0
_BACKLOG_EVERY_S = 1.0
_PRUNE_EVERY_S = 30.0
_DATABASE_RETRY_S = 1.0
_DATABASE_ERRORS = (exc.DBAPIError, exc.TimeoutError)


def headers(event: outbox.StoredEvent, settings: Settings) -> dict[str, str]:
    """Nats-Msg-Id for the broker's deduplication, and the CloudEvents attributes in binary mode."""
    msg_id = event_id(event.aggregate_type, event.aggregate_id, event.sequence)
    return {
        "Nats-Msg-Id": msg_id,
        "ce-specversion": "1.0",
        "ce-id": msg_id,
        "ce-type": f"{settings.events_subject_prefix}.{event.type}",
        "ce-source": settings.events_source,
        "ce-subject": f"{event.aggregate_type}s/{event.aggregate_id}",
        "ce-time": event.create_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "content-type": _CONTENT_TYPES[settings.events_format],
    }


def body(event: outbox.StoredEvent, settings: Settings) -> bytes:
    if settings.events_format == "protobuf":
        return event.payload
    message = PAYLOADS[event.aggregate_type].FromString(event.payload)
    text: str = json_format.MessageToJson(message, indent=None)
    return text.encode()


def waves(events: Sequence[outbox.StoredEvent]) -> list[list[outbox.StoredEvent]]:
    """Wave k holds the k-th event of every aggregate: a wave is published at once, waves one after another."""
    seen: dict[tuple[str, int], int] = {}
    out: list[list[outbox.StoredEvent]] = []
    for e in events:
        k = seen[(e.aggregate_type, e.aggregate_id)] = seen.get((e.aggregate_type, e.aggregate_id), -1) + 1
        if k == len(out):
            out.append([])
        out[k].append(e)
    return out


class Relay:
    def __init__(self, engine: Engine, settings: Settings, owner: str = "") -> None:
        self._engine = engine
        self._settings = settings
        self.leases = Leases(engine, owner or f"relay-{uuid.uuid4().hex[:12]}", settings.relay_partitions, settings.relay_lease_s)
        self._next_backlog = self._next_prune = self._next_claim = 0.0
        self._held: set[int] = set()
        self._life = RelayLife(settings.relay_log_interval_s, time.monotonic())

    def run(self, stop: threading.Event) -> None:
        """Publishes (or, without ORDERS_NATS_URL, only prunes) until `stop` is set."""
        asyncio.run(self._run(stop))

    async def _run(self, stop: threading.Event) -> None:
        self._life.started(self.leases.owner, self._settings.nats_url, self._settings.events_stream)
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.leases.ensure_rows)
                break
            except _DATABASE_ERRORS as error:
                self._lost_database(error)
                await asyncio.to_thread(stop.wait, _DATABASE_RETRY_S)
        nc = await self._connect(stop) if self._settings.nats_url else None
        js = nc.jetstream(timeout=_PUBLISH_TIMEOUT_S) if nc is not None else None
        try:
            while not stop.is_set():
                try:
                    busy = await self.step(js)
                except _DATABASE_ERRORS as error:
                    self._lost_database(error)
                    await asyncio.to_thread(stop.wait, _DATABASE_RETRY_S)
                    continue
                self._life.database_ok()
                if not busy:
                    await asyncio.to_thread(stop.wait, self._settings.relay_poll_interval_s)
        finally:
            self._life.stopping()
            try:
                await asyncio.to_thread(self.leases.release_all)
            except _DATABASE_ERRORS as error:
                log.warning("relay: leases not released (%s); they expire by themselves", error)
            if nc is not None:
                await nc.close()

    def _lost_database(self, error: exc.DBAPIError | exc.TimeoutError) -> None:
        """The database went away (or the pool stayed busy, or a lock wait timed out): events wait in the
        outbox meanwhile. The leases are claimed afresh before anything more is published: another relay
        may hold them now. Any other database error (a missing table, a denied grant, a bug) is raised:
        retrying would hide it, and the relay exits for its supervisor to see."""
        if isinstance(error, exc.DBAPIError) and not isinstance(translate(error, _ignore), (StorageUnavailable, LockContention)):
            raise error
        self._life.database_lost(getattr(error, "orig", None) or error, _DATABASE_RETRY_S)  # the driver's words, not the SQL
        self._held, self._next_claim = set(), 0.0

    async def _connect(self, stop: threading.Event) -> Client | None:
        """Connects and makes sure of the stream, waiting for the broker as long as it takes; orders do not wait meanwhile."""
        while not stop.is_set():
            nc = Client()
            try:
                await nc.connect(
                    self._settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=1, connect_timeout=2,
                    allow_reconnect=True, disconnected_cb=self._nats_lost, reconnected_cb=self._nats_regained, error_cb=self._nats_error,
                )
                await self._ensure_stream(nc.jetstream(timeout=_PUBLISH_TIMEOUT_S))
                self._life.connected(self._settings.nats_url, self._settings.events_stream)
                return nc
            except Exception as error:  # noqa: BLE001 - any failure to reach the broker means: try again
                self._life.nats_unavailable(self._settings.nats_url, error)
                await nc.close()
                await asyncio.to_thread(stop.wait, 1.0)
        return None

    async def _nats_lost(self) -> None:
        self._life.nats_lost()

    async def _nats_regained(self) -> None:
        self._life.nats_regained()

    async def _nats_error(self, error: Exception) -> None:
        # nats-py's default logs a traceback per failed reconnect, every second of an outage; the
        # lost and regained lines say what an operator needs.
        log.debug("relay: NATS client error: %r", error)

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        s = self._settings
        config = StreamConfig(
            name=s.events_stream, subjects=[f"{s.events_subject_prefix}.>"], duplicate_window=s.events_duplicate_window_s
        )
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)  # it exists with another configuration (an older window)

    async def step(self, js: JetStreamContext | None) -> bool:
        """One round: leases, one batch published and marked, and the periodic backlog and pruning.
        Returns whether it found a full batch (so the next round should not wait)."""
        now = time.monotonic()
        self._life.tick(now)
        if now >= self._next_backlog:
            self._next_backlog = now + _BACKLOG_EVERY_S
            await asyncio.to_thread(self._measure_backlog)
        if now >= self._next_prune:
            self._next_prune = now + _PRUNE_EVERY_S
            await asyncio.to_thread(self.prune)
        if js is None:
            return False
        s = self._settings
        if now >= self._next_claim:
            # Renewed three times per lease: often enough never to lapse while alive, without
            # four lease statements in front of every batch.
            self._next_claim = now + s.relay_lease_s / 3
            self._held = await asyncio.to_thread(self.leases.claim, datetime.now(UTC))
        batch = await asyncio.to_thread(outbox.unpublished, self._engine, self._held, s.relay_partitions, s.relay_batch)
        acked = await self._publish(js, batch)
        await asyncio.to_thread(outbox.mark_published, self._engine, acked, datetime.now(UTC))
        return len(batch) == s.relay_batch and len(acked) == len(batch)

    async def _publish(self, js: JetStreamContext, batch: Sequence[outbox.StoredEvent]) -> list[int]:
        """Publishes wave after wave; an aggregate whose event got no PubAck sends nothing more this round."""
        acked: list[int] = []
        stalled: set[tuple[str, int]] = set()
        for wave in waves(batch):
            todo = [e for e in wave if (e.aggregate_type, e.aggregate_id) not in stalled]
            results = await asyncio.gather(*(self._publish_one(js, e) for e in todo), return_exceptions=True)
            for e, result in zip(todo, results, strict=True):
                if isinstance(result, BaseException):
                    stalled.add((e.aggregate_type, e.aggregate_id))
                    metrics.EVENT_PUBLISH_FAILURES.inc()
                else:
                    acked.append(e.position)
        if stalled:
            log.warning("relay: %d aggregates got no PubAck; their events wait for the next round", len(stalled))
        return acked

    async def _publish_one(self, js: JetStreamContext, e: outbox.StoredEvent) -> None:
        s = self._settings
        ack: Any = await js.publish(f"{s.events_subject_prefix}.{e.type}", body(e, s), headers=headers(e, s))
        metrics.EVENTS_PUBLISHED.labels("duplicate" if ack.duplicate else "stored").inc()
        lag = (datetime.now(UTC) - e.create_time).total_seconds()
        metrics.EVENT_PUBLISH_LAG.observe(lag)
        self._life.published(lag)

    def _measure_backlog(self) -> None:
        count, oldest = outbox.backlog(self._engine)
        metrics.OUTBOX_BACKLOG.set(count)
        self._life.backlog(count)
        metrics.OUTBOX_LAG.set(0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds()))

    def prune(self) -> int:
        """Deletes events past the retention, batch after batch, each batch its own short transaction."""
        s = self._settings
        cutoff = datetime.now(UTC) - timedelta(seconds=s.outbox_retention_s)
        total = 0
        while (n := outbox.prune(self._engine, cutoff, s.outbox_prune_batch, published_only=bool(s.nats_url))) > 0:
            total += n
            metrics.OUTBOX_PRUNED.inc(n)
            if n < s.outbox_prune_batch:
                break
        return total


def _ignore(_kind: str) -> None:
    """Lock conflicts are counted where requests run; the relay's retry is its own."""
