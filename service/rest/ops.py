"""Operations endpoints on the HTTP port: Prometheus metrics and readiness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST

from service import metrics as exported

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
Endpoint = Callable[[], Awaitable[Reply]]
_TEXT = (b"content-type", b"text/plain; charset=utf-8")


async def metrics() -> Reply:
    return 200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], exported.exposition()


def readiness(channel: grpc.aio.Channel, timeout_s: float = 2.0) -> Endpoint:
    """GET /readyz: 200 while the gRPC server reports SERVING (the service's database answers, from
    every worker), else 503."""
    check = health_pb2_grpc.HealthStub(channel).Check

    async def readyz() -> Reply:
        try:
            reply = await check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        except grpc.RpcError as error:
            status = f"UNREACHABLE ({error.code().name})"
        return (200 if status == "SERVING" else 503), [_TEXT], (status + "\n").encode()

    return readyz


def endpoints(channel: grpc.aio.Channel) -> dict[str, Endpoint]:
    return {"/metrics": metrics, "/readyz": readiness(channel)}
