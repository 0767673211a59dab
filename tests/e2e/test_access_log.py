"""One JSON log line per RPC, with the request id, trace id and principal, and never the token."""

from __future__ import annotations

import json
import logging
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import order_pb2, order_pb2_grpc
from service.logs import JsonFormatter
from service.grpc_server import Running
from tests.conftest import running_server, server_settings
from tests.helpers import Stubs, authorized_channel, token

TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_each_rpc_logs_one_json_line_with_ids_and_no_secrets(server: Running, caplog: pytest.LogCaptureFixture) -> None:
    bearer = token("log-reader")
    caplog.set_level(logging.INFO, logger="erp_orders.access")
    metadata = [("x-request-id", "req-123"), ("traceparent", f"00-{TRACE}-b7ad6b7169203331-01")]
    with authorized_channel(server.port, bearer) as channel:
        stub = order_pb2_grpc.OrderServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetOrder(order_pb2.GetOrderRequest(id="424242"), metadata=metadata)
    assert ("x-request-id", "req-123") in caught.value.initial_metadata()  # type: ignore[attr-defined]
    [record] = [r for r in caplog.records if r.name == "erp_orders.access"]
    line = json.loads(JsonFormatter().format(record))
    assert {k: line[k] for k in ("level", "method", "code", "principal", "request_id", "trace_id")} == {
        "level": "info", "method": "/erp.orders.v1.OrderService/GetOrder", "code": "NOT_FOUND",
        "principal": "log-reader", "request_id": "req-123", "trace_id": TRACE,
    }
    assert line["duration_ms"] >= 0 and line["time"].endswith("+00:00")
    assert bearer not in json.dumps(line) and "424242" not in json.dumps(line)


def test_a_request_without_an_id_gets_one_generated_and_returned(server: Running) -> None:
    with authorized_channel(server.port, token("log-reader")) as channel:
        _, call = order_pb2_grpc.OrderServiceStub(channel).ListOrders.with_call(order_pb2.ListOrdersRequest(page_size=1))
    assert len(dict(call.initial_metadata())["x-request-id"]) == 32


def test_errors_carry_their_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and "ValueError: boom" in line["exception"]



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
    assert not [r for r in caplog.records if r.name == "service.interceptors.error_boundary"]



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
