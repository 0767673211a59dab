"""`erp-orders events tail`: follows the order-event stream on NATS JetStream, printing one JSON line per event."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

import nats
from google.protobuf import json_format
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from service.events.relay import PAYLOADS
from service.settings import Settings, SettingsError

_WAIT_S = 1.0  # how long one wait for a message lasts; the loop then waits again


def tail(settings: Settings, nats_url: str, subjects: str, from_start: bool, count: int, out: TextIO = sys.stdout) -> None:
    """Prints each event on `<prefix>.<subjects>` as it reaches the stream (all of the stream's first with
    `from_start`), until `count` were printed (0: until interrupted). Says on stderr when it follows."""
    asyncio.run(_tail(settings, nats_url, subjects, from_start, count, out))


async def _tail(settings: Settings, nats_url: str, subjects: str, from_start: bool, count: int, out: TextIO) -> None:
    try:
        nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=-1, allow_reconnect=True)
    except Exception as error:  # noqa: BLE001 - whatever kept us from the broker, the command says so and stops
        raise SettingsError(f"cannot reach NATS at {nats_url}: {error}") from None
    subject = f"{settings.events_subject_prefix}.{subjects}"
    try:
        js = nc.jetstream()
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        try:
            # An ordered consumer: ephemeral, in stream order, and recreated by the client after a gap.
            sub = await js.subscribe(subject, stream=settings.events_stream, ordered_consumer=True, deliver_policy=policy)
        except NotFoundError:
            raise SettingsError(f"no stream {settings.events_stream} at {nats_url}: the relay creates it when it starts") from None
        since = "its first event" if from_start else "now"
        print(f"following {subject} on stream {settings.events_stream} at {nats_url} from {since} (Ctrl-C stops)", file=sys.stderr, flush=True)
        printed = 0
        while not count or printed < count:
            try:
                msg = await sub.next_msg(timeout=_WAIT_S)
            except TimeoutError:
                continue
            print(json.dumps(line(msg, settings.events_subject_prefix), ensure_ascii=False), file=out, flush=True)
            printed += 1
    finally:
        await nc.close()


def line(msg: Msg, prefix: str) -> dict[str, Any]:
    """The event as one JSON object: where it is in the stream, its CloudEvents attributes and its payload."""
    headers = msg.headers or {}
    kind = msg.subject.removeprefix(f"{prefix}.")  # e.g. order.created
    if headers.get("content-type") == "application/json":
        data = json.loads(msg.data)
    else:
        data = json_format.MessageToDict(PAYLOADS[kind.split(".")[0]].FromString(msg.data))
    return {
        "stream_sequence": msg.metadata.sequence.stream,
        "type": kind,
        "id": headers.get("ce-id", ""),
        "subject": headers.get("ce-subject", ""),
        "time": headers.get("ce-time", ""),
        "data": data,
    }
