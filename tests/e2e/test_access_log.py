"""The access log and the request id over a real server: the id sent back over the wire, and a call that
outlives its deadline. The log line itself is tested in tests/unit/test_api_access_log.py."""

from __future__ import annotations

import logging
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import order_pb2, order_pb2_grpc
from service.runtime.grpc_server import Running
from tests.conftest import running_server, server_settings
from tests.helpers import Stubs, authorized_channel, token


def test_a_request_without_an_id_gets_one_generated_and_returned(server: Running) -> None:
    with authorized_channel(server.port, token("log-reader")) as channel:
        _, call = order_pb2_grpc.OrderServiceStub(channel).ListOrders.with_call(order_pb2.ListOrdersRequest(page_size=1))
    assert len(dict(call.initial_metadata())["x-request-id"]) == 32


def test_a_call_that_outlives_its_deadline_is_logged_once_and_not_as_an_unhandled_error(
    channel: grpc.Channel, observer: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by python -m chaos: the response headers went to a call the client had given up on,
    # grpc raised, and the error boundary logged an "unhandled error" for a plain timeout.
    caplog.set_level(logging.INFO)
    stubs = Stubs.on(channel)
    customer, product = stubs.customer(), stubs.product(stock=5)
    request = order_pb2.CreateOrderRequest(customer_id=customer.id, items=[order_pb2.CreateOrderRequest.Item(product_id=product.id, quantity=1)])
    with observer.connect() as conn, conn.begin():  # holds the product's row lock until the client has given up
        conn.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product.id)})
        with pytest.raises(grpc.RpcError) as caught:
            stubs.orders.CreateOrder(request, timeout=0.5, metadata=[("x-request-id", "late-1")])
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while not (logged := [r for r in caplog.records if r.name == "erp_orders.access" and r.rpc["request_id"] == "late-1"]):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the late call was never logged"
        time.sleep(0.01)  # polling for the server thread's log record, bounded by the deadline
    assert len(logged) == 1
    assert not [r for r in caplog.records if r.name == "service.grpc.interceptors.error_boundary"]



def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.rpc["method"] for r in caplog.records if r.name == "erp_orders.access"]  # type: ignore[attr-defined]


def _check_health(port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING


def test_health_checks_are_not_access_logged_by_default(server: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="erp_orders.access")
    _check_health(server.port)
    assert _access_lines(caplog) == []


def test_access_log_probes_logs_each_health_check(mysql_url: str, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="erp_orders.access")
    with running_server(server_settings(mysql_url, access_log_probes=True), engine) as probed:
        _check_health(probed.port)
    assert _access_lines(caplog) == ["/grpc.health.v1.Health/Check"]
