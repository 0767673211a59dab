"""Rate limits per principal and method class, answered with RetryInfo and retry-after."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import Engine

from service._gen.erp.orders.v1 import customer_pb2
from tests.conftest import running_server, server_settings
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
