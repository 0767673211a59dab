"""Operators debug the service with grpcurl, which relies on server reflection."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service._gen.erp.orders.v1 import product_pb2
from service.runtime import http_server as rest
from service.runtime.grpc_server import Running
from tests.helpers import Stubs, rich

GRPCURL = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")


def test_grpcurl_lists_the_three_services_and_health(server: Running) -> None:
    result = subprocess.run(
        [GRPCURL, "-plaintext", f"127.0.0.1:{server.port}", "list"], capture_output=True, text=True, timeout=30, check=True
    )
    assert set(result.stdout.split()) >= {
        "erp.orders.v1.CustomerService", "erp.orders.v1.ProductService", "erp.orders.v1.OrderService", "grpc.health.v1.Health",
    }


def test_grpcurl_describes_http_bindings_validation_rules_and_policies(server: Running) -> None:
    def describe(symbol: str) -> str:
        command = [GRPCURL, "-plaintext", f"127.0.0.1:{server.port}", "describe", symbol]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout

    assert "int32:<lte:10000 gt:0>" in describe("erp.orders.v1.CreateOrderRequest")
    assert 'post:"/v1/orders/{id}:cancel"' in describe("erp.orders.v1.OrderService").replace(" ", "")
    assert 'policy)={role:"orders.write"access:ACCESS_WRITEidempotent:true}' in describe("erp.orders.v1.OrderService").replace(" ", "")


def _idle_reflection_stream(port: int, release: threading.Event) -> tuple[grpc.Channel, Iterator[object]]:
    """A stream on its own channel that asks one question, then stays open sending nothing."""

    def requests() -> Iterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        release.wait()

    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return channel, reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(requests(), timeout=60)


def test_idle_reflection_streams_never_delay_authenticated_calls_or_readiness(
    server: Running, channel: grpc.Channel, gateway: rest.RunningGateway
) -> None:
    release = threading.Event()
    streams = [_idle_reflection_stream(server.port, release) for _ in range(200)]
    try:
        answered = refused = 0
        for _, responses in streams:
            try:
                next(responses)  # type: ignore[call-overload]
                answered += 1  # this one now holds its stream open
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error  # type: ignore[attr-defined]
                assert rich(error).reason == "TOO_MANY_STREAMS"
                refused += 1
        assert answered >= 1 and refused >= 1
        stubs = Stubs.on(channel)
        for _ in range(20):
            stubs.products.ListProducts(product_pb2.ListProductsRequest(page_size=1), timeout=2)
        assert httpx.get(f"http://127.0.0.1:{gateway.port}/readyz", timeout=2).status_code == 200
    finally:
        release.set()
        for stream_channel, _ in streams:
            stream_channel.close()
