"""ExportOrders over REST: its stream of orders as `text/csv`, one row per line item, sent as it
arrives, so the gateway holds one chunk of rows at a time however many orders are exported.

The stream starts (200 and the CSV headers) only once the server accepted the export, as for the
SSE streams (service.rest.sse.started): a refused export is an ordinary JSON error. A failure
after the start cannot change the status any more: the response is cut without its last chunk,
so the client sees an incomplete transfer, never a short file that looks whole.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from decimal import Decimal
from typing import Any

import grpc

from google.type import money_pb2

from service._gen.erp.orders.v1 import order_pb2
from service.rest.routes import Route
from service.rest.sse import Receive, Send, cancel_on_disconnect

log = logging.getLogger(__name__)

COLUMNS = (
    "order_id", "external_reference", "customer_id", "status", "create_time", "update_time",
    "product_id", "sku", "quantity", "shipped_quantity", "unit_price", "subtotal", "total",
    "canceled_quantity", "returned_quantity",  # last, so that readers by position of the first 13 keep working
)
_EXPORTS = frozenset({"/erp.orders.v1.OrderService/ExportOrders"})
_HEADERS = [
    (b"content-type", b"text/csv; charset=utf-8"),
    (b"content-disposition", b'attachment; filename="orders.csv"'),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_CHUNK_BYTES = 64 * 1024  # rows are sent in chunks of about this size


def renders(route: Route) -> bool:
    """Whether this module serves the route's stream (else it is served as SSE)."""
    return route.grpc_path in _EXPORTS


def _amount(money: money_pb2.Money) -> str:
    """Whole cents, as 1234.50: the service keeps prices in whole cents."""
    return f"{Decimal(money.units) + Decimal(money.nanos).scaleb(-9):.2f}"


def rows(order: order_pb2.Order) -> list[list[str | int]]:
    status = order_pb2.OrderStatus.Name(order.status)
    head = [order.id, order.external_reference, order.customer_id, status, order.create_time.ToJsonString(), order.update_time.ToJsonString()]
    return [
        [
            *head, i.product_id, i.sku, i.quantity, i.shipped_quantity, _amount(i.unit_price), _amount(i.subtotal), _amount(order.total),
            i.canceled_quantity, i.returned_quantity,
        ]
        for i in order.items
    ]


async def relay(route: Route, call: Any, send: Send, receive: Receive, extra: list[tuple[bytes, bytes]]) -> None:
    """Sends the header row, then every order's rows, until the stream ends or the client goes away
    (which cancels the call)."""
    await send({"type": "http.response.start", "status": 200, "headers": [*_HEADERS, *extra]})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(COLUMNS)
    gone = cancel_on_disconnect(call, receive)
    try:
        async for order in call:
            writer.writerows(rows(order))
            if buffer.tell() >= _CHUNK_BYTES:
                await send({"type": "http.response.body", "body": buffer.getvalue().encode(), "more_body": True})
                buffer.seek(0)
                buffer.truncate()
    except grpc.aio.AioRpcError as error:
        if not gone.done():
            log.warning("export %s failed after it started: %s; the response is cut", route.grpc_path, error.code().name)
        return  # without the last chunk: the server closes the connection mid-body
    except asyncio.CancelledError:
        if not gone.done():
            raise
        return
    finally:
        gone.cancel()
    await send({"type": "http.response.body", "body": buffer.getvalue().encode(), "more_body": False})
