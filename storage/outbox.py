"""The transactional outbox: events written with the change they describe, in its transaction, and
read back by the relay (unpublished rows, never a cursor) and by WatchOrderEvents (by position)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from service.domain.events import Event, OrderEvent
from service.domain.ports import EventOutbox
from storage.write_behind import StatementQueue, Write
from storage.schema import outbox_events

_INSERT = Write(
    insert(outbox_events),
    ("aggregate_type", "aggregate_id", "sequence", "type", "customer_id", "payload", "create_time"),
)

# The CloudEvents type's suffix and the subject's (erp.orders.v1.<type>), per order event type.
ORDER_TYPES = {
    1: "order.created", 2: "order.status_changed", 3: "order.canceled", 4: "order.shipment_created", 5: "order.shipment_delivered",
    6: "order.return_created",
    7: "order.amended",
}
STOCK_TYPE = "product.stock_moved"

# An event as its payload: the contract's message, serialized (service/grpc/convert.py, injected).
EventEncoder = Callable[[Event], bytes]


def _values(e: Event, encode: EventEncoder) -> dict[str, Any]:
    if isinstance(e, OrderEvent):
        return {
            "aggregate_type": "order", "aggregate_id": int(e.order.id), "sequence": e.sequence,
            "type": ORDER_TYPES[e.type], "customer_id": int(e.order.customer_id),
            "payload": encode(e), "create_time": e.time,
        }
    return {
        "aggregate_type": "product", "aggregate_id": int(e.movement.product_id), "sequence": e.sequence,
        "type": STOCK_TYPE, "customer_id": None, "payload": encode(e),
        "create_time": e.movement.create_time,
    }


class SqlEventOutbox(EventOutbox):
    def __init__(self, sql: StatementQueue, encode: EventEncoder) -> None:
        self._sql = sql
        self._encode = encode

    def add(self, events: Sequence[Event]) -> None:
        # One multi-row INSERT, queued for the commit's round trip, after the change's own rows: a
        # statement of that batch that fails (a taken idempotency key) stops it before this one, so a
        # refused change does not even use up outbox ids (WatchOrderEvents waits at id gaps).
        if events:
            self._sql.defer_rows(_INSERT, [_values(e, self._encode) for e in events])


class DiscardingOutbox(EventOutbox):
    """The outbox of ORDERS_EVENTS_OUTBOX=false: the events are dropped, so a change costs no outbox row."""

    def add(self, events: Sequence[Event]) -> None:
        del events


@dataclass(frozen=True)
class StoredEvent:
    position: int  # the outbox id
    aggregate_type: str
    aggregate_id: int
    sequence: int
    type: str
    customer_id: int | None
    payload: bytes
    create_time: datetime


t = outbox_events
_COLUMNS = (t.c.id, t.c.aggregate_type, t.c.aggregate_id, t.c.sequence, t.c.type, t.c.customer_id, t.c.payload, t.c.create_time)


def _stored(rows: Iterable[Any]) -> list[StoredEvent]:
    return [StoredEvent(*r) for r in rows]


def unpublished(engine: Engine, partitions: Iterable[int], count: int, limit: int) -> list[StoredEvent]:
    """The oldest unpublished events of these partitions (aggregate_id mod count), in outbox order.

    No cursor: a row whose id committed after a larger one is still unpublished, so it is found on
    the next read. Per aggregate, outbox order is sequence order (each event is inserted under the
    aggregate's row lock, after the previous one committed), so the first row of an aggregate here
    is the one right after its last published event.
    """
    held = sorted(partitions)
    if not held:
        return []
    stmt = (
        select(*_COLUMNS)
        .where(t.c.publish_time.is_(None), (t.c.aggregate_id % count).in_(held))
        .order_by(t.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return _stored(conn.execute(stmt))


def mark_published(engine: Engine, positions: Sequence[int], when: datetime) -> None:
    if positions:
        with engine.begin() as conn:
            conn.execute(update(t).where(t.c.id.in_(positions)).values(publish_time=when))


def backlog(engine: Engine) -> tuple[int, datetime | None]:
    """How many events wait to be published, and when the oldest of them happened."""
    with engine.connect() as conn:
        row = conn.execute(select(func.count(), func.min(t.c.create_time)).where(t.c.publish_time.is_(None))).one()
    return int(row[0]), row[1]


def after(engine: Engine, position: int, limit: int) -> list[StoredEvent]:
    """Events after this outbox position, in position order (WatchOrderEvents)."""
    with engine.connect() as conn:
        return _stored(conn.execute(select(*_COLUMNS).where(t.c.id > position).order_by(t.c.id).limit(limit)))


def create_time_at(engine: Engine, position: int) -> datetime | None:
    """When the event at this position happened, or None if there is none (pruned, or never committed)."""
    with engine.connect() as conn:
        found: datetime | None = conn.execute(select(t.c.create_time).where(t.c.id == position)).scalar()
        return found


def last_position(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(t.c.id))).scalar() or 0)


def prune(engine: Engine, cutoff: datetime, batch: int, published_only: bool) -> int:
    """Deletes one batch of events older than `cutoff`; returns how many. Call until it returns less than `batch`.

    Ids are chosen first, then deleted by primary key in a transaction of their own: the DELETE
    locks only those rows, never a range that inserts would wait on (unbounded DELETEs on an outbox
    deadlock with inserts). With a broker, only published events go; without one, every old event.
    """
    age = t.c.publish_time if published_only else t.c.create_time
    with engine.connect() as conn:
        ids: list[int] = list(conn.execute(select(t.c.id).where(age < cutoff).order_by(age, t.c.id).limit(batch)).scalars())
    if ids:
        with engine.begin() as conn:
            conn.execute(delete(t).where(t.c.id.in_(ids)))
    return len(ids)
