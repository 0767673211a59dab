"""Test helpers for order events: a private JetStream stream per test, and reading it back whole."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import nats
from sqlalchemy import Engine, func, select

from service.settings import Settings
from storage.schema import outbox_events
from tests.conftest import server_settings
from tests.helpers import until

NATS_URL = os.environ.get("ORDERS_TEST_NATS_URL", "nats://127.0.0.1:4222")


async def _delete(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()


def event_settings(database_url: str, nats_url: str = NATS_URL, **overrides: object) -> Settings:
    """Settings for a relay on a stream and subjects of its own (the shared broker's other streams are never touched)."""
    name = uuid.uuid4().hex[:10]
    base: dict[str, object] = {
        "nats_url": nats_url, "events_stream": f"TEST_EVENTS_{name}", "events_subject_prefix": f"test{name}.erp.orders.v1",
        "relay_lease_s": 1.0, "events_duplicate_window_s": 120.0, "relay_poll_interval_s": 0.02,
    }
    return server_settings(database_url, **{**base, **overrides})


@contextmanager
def private_stream(settings: Settings) -> Iterator[Settings]:
    try:
        yield settings
    finally:
        asyncio.run(_delete(settings.nats_url, settings.events_stream))


def unpublished(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(outbox_events.c.publish_time.is_(None))).scalar() or 0)


def until_published(engine: Engine, seconds: float = 60) -> None:
    until(lambda: unpublished(engine) == 0, "the relay has published the whole outbox", seconds)
