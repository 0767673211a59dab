"""The JetStream stream read back whole after a run, and its messages decoded into plain values for the checker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import nats

from chaos.dbstate import Movement
from service._gen.erp.orders.v1 import events_pb2

_CHUNK = 500  # get_msg requests in flight at once: one round trip each, so a long run's stream reads in seconds


@dataclass(frozen=True)
class Published:
    subject: str
    headers: dict[str, str]
    data: bytes


@dataclass(frozen=True)
class StreamEvent:
    id: str  # Nats-Msg-Id
    aggregate: str  # "order" or "product"
    aggregate_id: str
    sequence: int
    order_type: int = 0  # order events: erp.orders.v1.OrderEventType
    status: int = 0  # order events: the order's status after the change
    movement: Movement | None = None  # product events: the ledger row the event describes (without its id)


async def _read(url: str, stream: str) -> list[Published]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        state = (await js.stream_info(stream)).state
        seqs = list(range(state.first_seq, state.last_seq + 1)) if state.messages else []
        out = []
        for start in range(0, len(seqs), _CHUNK):
            msgs: list[Any] = await asyncio.gather(*(js.get_msg(stream, seq) for seq in seqs[start:start + _CHUNK]))
            out += [Published(m.subject, dict(m.headers or {}), m.data or b"") for m in msgs]
        return out
    finally:
        await nc.close()


def read_stream(url: str, stream: str) -> list[Published]:
    """Every message the stream holds, in stream order."""
    return asyncio.run(_read(url, stream))


def decode(messages: Iterable[Published]) -> list[StreamEvent]:
    """Protobuf payloads (the harness runs the relay with ORDERS_EVENTS_FORMAT=protobuf); `ce-subject` names the aggregate."""
    out = []
    for m in messages:
        aggregate = m.headers["ce-subject"].split("/", 1)[0].removesuffix("s")
        if aggregate == "order":
            e = events_pb2.OrderEvent.FromString(m.data)
            out.append(StreamEvent(m.headers["Nats-Msg-Id"], aggregate, e.order_id, e.sequence, e.type, e.order.status))
        else:
            p = events_pb2.ProductStockEvent.FromString(m.data)
            mv = p.movement
            movement = Movement(mv.product_id, mv.kind, mv.delta, mv.stock_after, mv.order_id or None, id=mv.id)
            out.append(StreamEvent(m.headers["Nats-Msg-Id"], aggregate, p.product_id, p.sequence, movement=movement))
    return out
