"""One JSON log line per call, with the request id, trace id and principal and never the token, and the
request id sent back (tests/unit/api.py)."""

from __future__ import annotations

import json
import logging
import sys

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2
from service.runtime.logs import JsonFormatter
from tests.helpers import token
from tests.unit.api import Api

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "erp_orders.access"]


def test_each_rpc_logs_one_json_line_with_ids_and_no_secrets(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    bearer = token("log-reader")
    caplog.set_level(logging.INFO, logger="erp_orders.access")
    metadata = [("x-request-id", "req-123"), ("traceparent", f"00-{TRACE}-b7ad6b7169203331-01")]
    with pytest.raises(grpc.RpcError) as caught:
        api.stubs(bearer).orders.GetOrder(order_pb2.GetOrderRequest(id="424242"), metadata=metadata)
    assert ("x-request-id", "req-123") in caught.value.initial_metadata()  # type: ignore[attr-defined]
    [line] = _access_lines(caplog)
    assert {k: line[k] for k in ("level", "method", "code", "principal", "request_id", "trace_id")} == {
        "level": "info", "method": "/erp.orders.v1.OrderService/GetOrder", "code": "NOT_FOUND",
        "principal": "log-reader", "request_id": "req-123", "trace_id": TRACE,
    }
    assert line["duration_ms"] >= 0 and str(line["time"]).endswith("+00:00")  # type: ignore[operator]
    assert bearer not in json.dumps(line) and "424242" not in json.dumps(line)


def test_a_refused_token_is_logged_as_anonymous_with_its_code(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="erp_orders.access")
    with pytest.raises(grpc.RpcError):
        api.stubs("not.a.jwt").orders.GetOrder(order_pb2.GetOrderRequest(id="1"))
    [line] = _access_lines(caplog)
    assert (line["code"], line["principal"]) == ("UNAUTHENTICATED", "anonymous")


def test_a_request_without_an_id_gets_one_generated_and_returned(api: Api) -> None:
    _, call = api.stubs(token("log-reader")).orders.ListOrders.with_call(order_pb2.ListOrdersRequest(page_size=1))
    assert len(str(dict(call.initial_metadata())["x-request-id"])) == 32


def test_errors_carry_their_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and "ValueError: boom" in line["exception"]
