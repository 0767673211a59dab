"""The gateway's one listening socket: every connection it accepts has TCP_NODELAY, with one worker
process or several on one port (issue 21)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from service.runtime.http_server import listening_socket
from service.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of the connection an asyncio server (as uvicorn runs one) accepts on `listener`."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        value = await accepted
        writer.close()
    return value


@pytest.mark.parametrize("processes", [1, 2])
def test_every_accepted_connection_has_nodelay(processes: int) -> None:
    port = 0 if processes == 1 else _free_port()
    listener = listening_socket(Settings(http_host="127.0.0.1", http_port=port, grpc_processes=processes))
    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(_accepted_nodelay(listener)) == 1


def test_several_processes_need_a_fixed_port() -> None:
    with pytest.raises(ValueError, match="ORDERS_HTTP_PORT"):
        listening_socket(Settings(http_host="127.0.0.1", http_port=0, grpc_processes=2))
