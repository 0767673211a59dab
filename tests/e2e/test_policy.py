"""Deny by default at run time: a method that declares no policy is refused by the real interceptor chain."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from service.grpc_server import interceptors
from service.settings import Settings
from tests.helpers import authorized_channel, rich, token

FORGOTTEN = "/erp.orders.v1.ExtraService/Forgotten"


@pytest.fixture
def port(settings: Settings) -> Iterator[int]:
    """A gRPC server with the service's own chain, serving a method that no policy names."""
    ran: list[bytes] = []
    server = grpc.server(ThreadPoolExecutor(2), interceptors=[interceptors(settings, None)])
    handler = grpc.unary_unary_rpc_method_handler(lambda request, _context: ran.append(request) or b"ran")
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("erp.orders.v1.ExtraService", {"Forgotten": handler})])
    bound = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield bound
    server.stop(0).wait()
    assert ran == []  # refused before the method ran


@pytest.mark.parametrize("bearer", [token("tester"), None], ids=["with every role", "anonymous"])
def test_a_method_without_a_policy_is_refused_whoever_calls_it(port: int, bearer: str | None) -> None:
    with authorized_channel(port, bearer) as channel, pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary(FORGOTTEN)(b"", timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert rich(caught.value).reason == "NO_POLICY"
