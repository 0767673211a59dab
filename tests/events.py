"""Test helpers for order events: a private JetStream stream per test, and waiting for the relay to publish the outbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from bench.events import delete_stream
from service.settings import Settings
from storage import outbox
from tests.conftest import server_settings
from tests.helpers import until

NATS_URL = os.environ.get("ORDERS_TEST_NATS_URL", "nats://127.0.0.1:4222")


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
        delete_stream(settings.nats_url, settings.events_stream)


def until_published(engine: Engine, seconds: float = 60) -> None:
    until(lambda: outbox.backlog(engine)[0] == 0, "the relay has published the whole outbox", seconds)
