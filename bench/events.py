"""Order events under load: a relay publishing the run's outbox to a JetStream stream of the run's own,
and each event's lag from its change to the broker storing it (which its PubAck then confirms)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nats
from nats.js import api
from sqlalchemy import Engine

from bench.server import ROOT, free_port, service_env, stop
from storage import outbox


@dataclass(frozen=True)
class Stream:
    nats_url: str
    name: str

    @property
    def subject_prefix(self) -> str:
        return f"{self.name.lower()}.erp.orders.v1"  # subjects no one else uses

    def env(self) -> dict[str, str]:
        """The settings that point a relay at this stream."""
        return {"ORDERS_NATS_URL": self.nats_url, "ORDERS_EVENTS_STREAM": self.name, "ORDERS_EVENTS_SUBJECT_PREFIX": self.subject_prefix}


@contextmanager
def running_relay(database_url: str, nats_url: str, extra_env: Mapping[str, str], log: Path) -> Iterator[Stream]:
    """`erp-orders relay` on the run's database and a stream of its own, deleted when the block ends."""
    stream = Stream(nats_url, f"BENCH_EVENTS_{uuid.uuid4().hex[:10].upper()}")
    env = service_env(database_url, free_port(), free_port(), {**extra_env, **stream.env()})
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service.runtime.cli", "relay"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield stream
    finally:
        stop(proc)
        delete_stream(stream.nats_url, stream.name)


def last_sequence(stream: Stream) -> int:
    """The stream's last message sequence (0 while it is empty or not created yet)."""
    return asyncio.run(_last_sequence(stream))


def caught_up(engine: Engine, timeout_s: float = 120) -> bool:
    """Waits until the relay has published the whole outbox; False if it had not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if outbox.backlog(engine)[0] == 0:
            return True
        time.sleep(0.2)
    return False


def lags_after(stream: Stream, after: int) -> list[float]:
    """Seconds from each change (its event's ce-time) to the broker storing it, for the messages after `after`."""
    return asyncio.run(_lags(stream, after))


async def _last_sequence(stream: Stream) -> int:
    nc = await nats.connect(stream.nats_url)
    try:
        return int((await nc.jetstream().stream_info(stream.name)).state.last_seq)
    except nats.js.errors.NotFoundError:
        return 0
    finally:
        await nc.close()


async def _lags(stream: Stream, after: int) -> list[float]:
    nc = await nats.connect(stream.nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(stream.name)).state.last_seq
        if last <= after:
            return []
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1, ack_policy=api.AckPolicy.NONE,
        )
        sub = await js.pull_subscribe(f"{stream.subject_prefix}.>", stream=stream.name, config=config)
        lags: list[float] = []
        seq = after
        while seq < last:
            for msg in await sub.fetch(batch=1000, timeout=10):
                seq = msg.metadata.sequence.stream
                changed = datetime.fromisoformat((msg.headers or {})["ce-time"])
                lags.append((msg.metadata.timestamp - changed).total_seconds())
        await sub.unsubscribe()
        return lags
    finally:
        await nc.close()


def delete_stream(nats_url: str, name: str) -> None:
    """Deletes the stream if it exists (a run's own, never another's)."""
    asyncio.run(_delete(nats_url, name))


async def _delete(nats_url: str, name: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(name)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()
