"""Anything unexpected, in any interceptor step, ends as INTERNAL without its text, logged with the
request id, and counted and access-logged with that code."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import grpc
import pytest
import redis
from prometheus_client import REGISTRY

from service.redis import idempotency_store as idem
from service.runtime.logs import JsonFormatter
from service.redis.guard import slot_key
from service.runtime.grpc_server import Running
from service.settings import Settings
from tests.e2e.test_idempotency import key
from tests.helpers import Stubs, authorized_channel, cpf, token, unique
from service._gen.erp.orders.v1 import customer_pb2

METHOD = "/erp.orders.v1.CustomerService/CreateCustomer"


@pytest.fixture
def client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


def _record_key(settings: Settings, idem_key: str) -> str:
    """Where the server keeps the idempotency record of `tester`'s CreateCustomer with `idem_key`."""
    return slot_key(settings.redis_key_prefix, "idem:", idem.scope("tester", METHOD, idem_key))


def _internal_call(server: Running, idem_key: str, request_id: str) -> grpc.RpcError:
    request = customer_pb2.CreateCustomerRequest(name="Broken Record", document=cpf(), email=f"{unique()}@example.com")
    metadata = [("idempotency-key", idem_key), ("x-request-id", request_id)]
    with authorized_channel(server.port, token("tester")) as channel, pytest.raises(grpc.RpcError) as caught:
        Stubs.on(channel).customers.CreateCustomer(request, metadata=metadata)
    return caught.value


def _internals() -> float:
    return REGISTRY.get_sample_value("orders_rpcs_total", {"method": METHOD, "code": "INTERNAL"}) or 0.0


def test_an_unexpected_error_in_a_step_is_internal_without_its_text_and_recorded_as_internal(
    server: Running, settings: Settings, client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    idem_key, request_id = key(), unique("req-")
    # Redis answers, but the idempotency step cannot read what it holds. (An error reply from Redis
    # fails open instead: tests/e2e/test_redis_loss.py.)
    client.set(_record_key(settings, idem_key), b"{not json", px=60_000)  # in this run's own key prefix
    before = _internals()
    error = _internal_call(server, idem_key, request_id)

    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "internal error"  # nothing of the exception reaches the client
    assert ("x-request-id", request_id) in error.initial_metadata()  # type: ignore[attr-defined]
    assert _internals() - before == 1
    [access] = [r for r in caplog.records if r.name == "erp_orders.access" and r.rpc["request_id"] == request_id]  # type: ignore[attr-defined]
    assert access.rpc["code"] == "INTERNAL"  # type: ignore[attr-defined]
    [logged] = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.levelno == logging.ERROR]
    assert logged["request_id"] == request_id and "JSONDecodeError" in logged["exception"]
