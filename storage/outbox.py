"""The transactional outbox: events written with the change they describe, in its transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert

from service import convert
from service.domain.events import Event, OrderEvent
from service.domain.ports import EventOutbox
from storage.prepared import Prepared
from storage.schema import outbox_events

_INSERT = Prepared(
    insert(outbox_events),
    ("aggregate_type", "aggregate_id", "sequence", "type", "customer_id", "payload", "create_time"),
)

# The CloudEvents type's suffix and the subject's (erp.orders.v1.<type>), per order event type.
ORDER_TYPES = {1: "order.created", 2: "order.status_changed", 3: "order.canceled"}
STOCK_TYPE = "product.stock_moved"


def _values(e: Event) -> dict[str, Any]:
    if isinstance(e, OrderEvent):
        return {
            "aggregate_type": "order", "aggregate_id": int(e.order.id), "sequence": e.sequence,
            "type": ORDER_TYPES[e.type], "customer_id": int(e.order.customer_id),
            "payload": convert.order_event_message(e).SerializeToString(), "create_time": e.time,
        }
    return {
        "aggregate_type": "product", "aggregate_id": int(e.movement.product_id), "sequence": e.sequence,
        "type": STOCK_TYPE, "customer_id": None, "payload": convert.stock_event_message(e).SerializeToString(),
        "create_time": e.movement.create_time,
    }


class SqlEventOutbox(EventOutbox):
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, events: Sequence[Event]) -> None:
        # One multi-row INSERT, queued for the commit's round trip, after the change's own rows: a
        # statement of that batch that fails (a taken idempotency key) stops it before this one, so a
        # refused change does not even use up outbox ids (WatchOrderEvents waits at id gaps).
        if events:
            _INSERT.defer_rows(self._conn, [_values(e) for e in events])

