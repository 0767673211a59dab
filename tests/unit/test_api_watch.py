"""WatchOrderEvents refused before it streams, through the chain's composition of our response stream
(tests/unit/api.py, which has no outbox feed): the role it needs, and tokens the service did not
issue. Watches that stream, and expired tokens (judged from the outbox row), are tested in
tests/e2e/test_watch.py."""

from __future__ import annotations

import grpc
import pytest

from service._gen.erp.orders.v1 import events_pb2
from service.grpc.methods import ORDERS_READ, ORDERS_WRITE
from service.events.resume_tokens import Signer
from tests.helpers import rich, token
from tests.unit.api import Api


@pytest.mark.parametrize(
    "resume_token", ["not-a-token", Signer(["another service's secret, thirty-two+"]).token(1)], ids=["garbage", "foreign"]
)
def test_a_token_the_service_did_not_issue_is_refused_with_its_reason(api: Api, resume_token: str) -> None:
    request = events_pb2.WatchOrderEventsRequest(resume_token=resume_token)
    error = rich(api.refused_watch(token("watcher", [ORDERS_READ]), request))
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "RESUME_TOKEN_INVALID")
    assert list(error.field_violations) == ["resume_token"]


def test_watching_needs_the_orders_read_role(api: Api) -> None:
    error = rich(api.refused_watch(token("watcher", [ORDERS_WRITE]), events_pb2.WatchOrderEventsRequest()))
    assert (error.code, error.reason, error.metadata["role"]) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", ORDERS_READ)
