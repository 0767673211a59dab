"""Reused REST connections answer at once: every accepted connection has TCP_NODELAY, and a small
response leaves in one write, so a response never waits for the client's delayed ACK (about 40 ms
on Linux) behind its own first segment.

Without TCP_NODELAY every request after the first on a keep-alive connection took about 44 ms,
against 1-15 ms on a fresh connection (issue 21)."""

from __future__ import annotations

import http.client
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from service.runtime import http_server as rest
from tests.helpers import Stubs, authorized_channel, token

HEADERS = {"Authorization": f"Bearer {token('nodelay')}"}
PATH = "/v1/orders?pageSize=1"
# Generous: a delayed ACK costs about 40 ms per request; scheduling noise on a busy machine is smaller.
SLACK_S = 0.025


def _timed_get(conn: http.client.HTTPConnection, path: str = PATH) -> float:
    started = time.perf_counter()
    conn.request("GET", path, headers=HEADERS)
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
    return time.perf_counter() - started


def _server_side(gateway: rest.RunningGateway, conn: http.client.HTTPConnection) -> Any:
    """The gateway's socket of the connection `conn` (matched by the client's address)."""
    client = conn.sock.getsockname()
    for protocol in list(gateway.server.server_state.connections):
        if getattr(protocol, "client", None) == client[:2]:
            return protocol.transport.get_extra_info("socket")
    raise AssertionError(f"the gateway has no connection from {client}")


def _nodelay(sock: Any) -> int:
    return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


@contextmanager
def _connection(gateway: rest.RunningGateway) -> Iterator[http.client.HTTPConnection]:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def test_requests_on_a_reused_connection_do_not_wait_for_a_delayed_ack(gateway: rest.RunningGateway) -> None:
    fresh = []
    for _ in range(5):
        with _connection(gateway) as conn:
            fresh.append(_timed_get(conn))
    with _connection(gateway) as conn:
        reused = [_timed_get(conn) for _ in range(10)]
        assert _nodelay(_server_side(gateway, conn)) == 1
    # The first request of a connection is a fresh one; the nine after it reuse the connection.
    assert statistics.median(reused[1:]) <= statistics.median(fresh) + SLACK_S, (fresh, reused)


def test_the_event_stream_connection_has_nodelay_and_delivers_its_first_event(gateway: rest.RunningGateway, server: Any) -> None:
    with authorized_channel(server.port, token("nodelay-writer")) as channel, _connection(gateway) as conn:
        writer = Stubs.on(channel)
        customer, product = writer.customer(), writer.product(stock=5)
        _timed_get(conn)  # the stream below reuses this keep-alive connection
        conn.request("GET", f"/v1/orderEvents:watch?customerId={customer.id}", headers=HEADERS)
        stream = conn.getresponse()
        assert stream.status == 200 and stream.getheader("content-type", "").startswith("text/event-stream")
        assert _nodelay(_server_side(gateway, conn)) == 1
        order = writer.order(customer.id, (product.id, 1))
        first = b""
        while not first.endswith(b"\n\n"):
            first += stream.fp.readline()
        assert order.id.encode() in first, first
