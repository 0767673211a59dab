"""TLS and mTLS on the gRPC server and the gateway, with a CA made in the test."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine

from service.runtime import http_server as rest
from service.runtime.http_server import RunningGateway
from service.runtime.grpc_server import Running
from tests.certificates import Authority, Issued
from tests.conftest import running_server, server_settings
from tests.helpers import token


def _check(port: int, credentials: grpc.ChannelCredentials | None) -> str:
    target = f"localhost:{port}"
    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        except grpc.RpcError as error:
            return error.code().name  # type: ignore[attr-defined, no-any-return]


def _credentials(ca: Path, client: Issued | None = None) -> grpc.ChannelCredentials:
    pair = (client.key.read_bytes(), client.cert.read_bytes()) if client else (None, None)
    return grpc.ssl_channel_credentials(ca.read_bytes(), pair[0], pair[1])


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Authority, Authority]:
    return Authority(tmp_path, "orders-ca"), Authority(tmp_path, "someone-elses-ca")


@pytest.fixture
def tls_stack(
    pki: tuple[Authority, Authority], mysql_url: str, engine: Engine, request: pytest.FixtureRequest
) -> Iterator[tuple[Running, RunningGateway, Issued]]:
    ca, _ = pki
    server_cert, client = ca.issue("orders"), ca.issue("a-client")
    settings = server_settings(
        mysql_url, tls_cert_file=str(server_cert.cert), tls_key_file=str(server_cert.key),
        tls_client_ca_file=str(ca.cert) if request.param == "mtls" else "", gateway_tls_ca_file=str(ca.cert),
        gateway_tls_server_name="localhost", http_host="127.0.0.1", http_port=0,
    )
    with running_server(settings, engine) as running:
        gateway = rest.start(settings, rest.channel(settings, f"127.0.0.1:{running.port}"))
        yield running, gateway, client
        rest.stop(gateway)


@pytest.mark.parametrize("tls_stack", ["tls"], indirect=True)
def test_tls_clients_get_through_and_plaintext_or_a_wrong_ca_do_not(
    tls_stack: tuple[Running, RunningGateway, Issued], pki: tuple[Authority, Authority]
) -> None:
    running, gateway, _ = tls_stack
    ca, stranger = pki
    assert _check(running.port, _credentials(ca.cert)) == "SERVING"
    assert _check(running.port, None) == "UNAVAILABLE"
    assert _check(running.port, _credentials(stranger.cert)) == "UNAVAILABLE"

    url = f"https://localhost:{gateway.port}/v1/orders"
    headers = {"Authorization": f"Bearer {token('tls')}"}
    assert httpx.get(url, headers=headers, verify=ssl.create_default_context(cafile=ca.cert)).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, headers=headers, verify=ssl.create_default_context(cafile=stranger.cert))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"http://localhost:{gateway.port}/v1/orders", headers=headers)


@pytest.mark.parametrize("tls_stack", ["mtls"], indirect=True)
def test_with_a_client_ca_only_clients_with_its_certificates_get_through(
    tls_stack: tuple[Running, RunningGateway, Issued], pki: tuple[Authority, Authority]
) -> None:
    running, gateway, client = tls_stack
    ca, stranger = pki
    assert _check(running.port, _credentials(ca.cert, client)) == "SERVING"
    assert _check(running.port, _credentials(ca.cert)) == "UNAVAILABLE"
    assert _check(running.port, _credentials(ca.cert, stranger.issue("intruder"))) == "UNAVAILABLE"

    context = ssl.create_default_context(cafile=ca.cert)
    context.load_cert_chain(client.cert, client.key)
    reply = httpx.get(f"https://localhost:{gateway.port}/v1/orders", headers={"Authorization": f"Bearer {token('mtls')}"}, verify=context)
    assert reply.status_code == 200  # the gateway's own channel to gRPC presents its certificate too
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"https://localhost:{gateway.port}/v1/orders", verify=ssl.create_default_context(cafile=ca.cert))
