"""WatchOrderEvents refused before it streams, through the chain's composition of our response stream
(tests/unit/api.py, which has no outbox feed): the role it needs, and tokens it cannot resume from.
Watches that stream are tested in tests/e2e/test_watch.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from service import watch
from service._gen.erp.orders.v1 import events_pb2
from service.methods import ORDERS_READ, ORDERS_WRITE
from storage.outbox import StoredEvent
from tests.helpers import rich, token
from tests.unit.api import Api


def _expired_token(api: Api) -> str:
    old = StoredEvent(1, "order", 1, 1, "order.created", 1, b"", datetime.now(UTC) - timedelta(seconds=api.settings.outbox_retention_s + 60))
    return watch.token(old)


@pytest.mark.parametrize(
    ("expired", "code", "reason"),
    [(True, grpc.StatusCode.FAILED_PRECONDITION, "RESUME_TOKEN_EXPIRED"), (False, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")],
    ids=["expired", "foreign"],
)
def test_a_token_the_service_cannot_resume_from_is_refused_with_its_reason(
    api: Api, expired: bool, code: grpc.StatusCode, reason: str
) -> None:
    request = events_pb2.WatchOrderEventsRequest(resume_token=_expired_token(api) if expired else "not-a-token")
    error = rich(api.refused_watch(token("watcher", [ORDERS_READ]), request))
    assert (error.code, error.reason) == (code, reason)
    if not expired:
        assert error.field_violations == {"resume_token": "INVALID_RESUME_TOKEN"}


def test_watching_needs_the_orders_read_role(api: Api) -> None:
    error = rich(api.refused_watch(token("watcher", [ORDERS_WRITE]), events_pb2.WatchOrderEventsRequest()))
    assert (error.code, error.reason, error.metadata["role"]) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", ORDERS_READ)
