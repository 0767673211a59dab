"""Rate limits per principal and method class, answered with RetryInfo and retry-after."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import httpx
import pytest
from sqlalchemy import Engine

from service._gen.erp.orders.v1 import customer_pb2
from service.runtime import http_server as rest
from service.grpc.tokens import TokenVerifier
from tests.conftest import IN_PROCESS, running_server, server_settings
from tests.helpers import Stubs, authorized_channel, rich, token


@pytest.mark.parametrize("redis", ["redis", "redis cluster"])
def test_call_n_plus_one_is_rejected_with_retry_info_and_reads_are_counted_apart(
    mysql_url: str, engine: Engine, redis: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis_url") if redis == "redis" else request.getfixturevalue("redis_cluster").url
    settings = server_settings(mysql_url, redis_url=url, rate_limit_write="3/min", rate_limit_read="4/min")
    with running_server(settings, engine) as running:
        with authorized_channel(running.port, token("limited")) as channel:
            stubs = Stubs.on(channel)
            made = [stubs.customer() for _ in range(3)]
            for _ in range(2):
                try:
                    stubs.customer()
                    raise AssertionError("the fourth write passed")
                except grpc.RpcError as error:
                    rejected = rich(error)
                    assert (rejected.code, rejected.reason, rejected.has_retry_info) == (
                        grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED", True,
                    )
                    assert 1 <= int(dict(error.trailing_metadata())["retry-after"]) <= 20  # type: ignore[attr-defined]
            reads = [stubs.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=c.id)) for c in made]
            assert [c.id for c in reads] == [c.id for c in made]
        with authorized_channel(running.port, token("someone-else")) as channel:
            assert Stubs.on(channel).customer().id


def test_failed_authentications_are_throttled_per_peer_before_the_token_is_checked(
    mysql_url: str, engine: Engine, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[str] = []
    real_decode = TokenVerifier._decode
    monkeypatch.setattr(TokenVerifier, "_decode", lambda self, jwt: decoded.append(jwt) or real_decode(self, jwt))
    settings = server_settings(mysql_url, redis_url=redis_url, rate_limit_auth_failures="5/min")
    with running_server(settings, engine) as running, authorized_channel(running.port, token("x", secret="wrong" * 8)) as bad:
        request = customer_pb2.GetCustomerRequest(id="1")
        outcomes = [rich_outcome(lambda: Stubs.on(bad).customers.GetCustomer(request)) for _ in range(8)]
        assert outcomes == [(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")] * 5 + [
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
        ] * 3
        assert len(decoded) == 6  # the calls refused before it never reach the signature check
        with authorized_channel(running.port, token("good")) as good:
            try:
                Stubs.on(good).customer()
                raise AssertionError("a blocked peer's token was verified")
            except grpc.RpcError as error:
                assert rich(error).has_retry_info and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
        assert len(decoded) == 6


def rich_outcome(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    try:
        call()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        return error.code(), rich(error).reason  # type: ignore[attr-defined]


# `serve`'s gateway calls in-process; before, it called over its private socket, which is trusted too.
@pytest.mark.parametrize("calls", [IN_PROCESS, "private socket"])
def test_over_rest_failed_authentications_are_throttled_per_http_client_not_for_the_gateway(
    mysql_url: str, engine: Engine, redis_url: str, calls: str
) -> None:
    settings = server_settings(
        mysql_url, redis_url=redis_url, rate_limit_auth_failures="5/min", http_host="127.0.0.1", http_port=0
    )
    with running_server(settings, engine) as running:
        if calls == IN_PROCESS:
            backend: rest.Backend = rest.in_process(settings, running.dispatcher, running.local_target)
        else:
            backend = rest.channel(settings, running.local_target, local=True)
        gateway = rest.start(settings, backend)
        base, bad = f"http://127.0.0.1:{gateway.port}", {"Authorization": f"Bearer {token('x', secret='wrong' * 8)}"}
        try:
            with httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as attacker:
                codes = [attacker.get("/v1/customers/1", headers=bad).status_code for _ in range(7)]
                assert codes == [401] * 5 + [429] * 2
                spoofed = attacker.get("/v1/customers/1", headers={"Grpc-Metadata-X-Orders-Client-Address": "http:10.0.0.1"})
                assert spoofed.status_code == 400
            with httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address="127.0.0.1")) as other:
                assert other.get("/v1/customers/1", headers=bad).status_code == 401
                good = {"Authorization": f"Bearer {token('good')}"}
                assert other.get("/v1/customers", headers=good).status_code == 200
        finally:
            rest.stop(gateway)
