"""Rate limits as the API answers them, on the in-memory limiter: RESOURCE_EXHAUSTED with RetryInfo and
retry-after, per principal and method class, and failed authentications per peer (tests/unit/api.py)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from service._gen.erp.orders.v1 import customer_pb2
from service.grpc.tokens import TokenVerifier
from tests.helpers import rich, token
from tests.unit.api import Api, settings

LIMITED = (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")


def _outcome(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    try:
        call()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        return rich(error).code, rich(error).reason


def test_call_n_plus_one_is_refused_with_retry_info_and_reads_and_other_principals_are_counted_apart() -> None:
    api = Api(config=settings(rate_limit_write="3/min", rate_limit_read="4/min"))
    stubs = api.stubs(token("limited"))
    made = [stubs.customer() for _ in range(3)]
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as caught:
            stubs.customer()
        refused = rich(caught.value)
        assert (refused.code, refused.reason, refused.has_retry_info) == (*LIMITED, True)
        assert 1 <= int(dict(caught.value.trailing_metadata())["retry-after"]) <= 20  # type: ignore[attr-defined, arg-type, index]
    reads = [stubs.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=c.id)) for c in (*made, made[0])]
    assert [c.id for c in reads] == [c.id for c in (*made, made[0])]
    assert _outcome(lambda: stubs.customers.GetCustomer(customer_pb2.GetCustomerRequest(id=made[0].id))) == LIMITED
    assert api.stubs(token("someone-else")).customer().id
    assert len(api.tables.customers) == 4


def test_failed_authentications_are_throttled_per_peer_before_the_token_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    real_decode = TokenVerifier._decode
    monkeypatch.setattr(TokenVerifier, "_decode", lambda self, jwt: decoded.append(jwt) or real_decode(self, jwt))  # type: ignore[func-returns-value]
    api = Api(config=settings(rate_limit_auth_failures="5/min"))
    bad = api.stubs(token("x", secret="wrong" * 8))
    request = customer_pb2.GetCustomerRequest(id="1")
    outcomes = [_outcome(lambda: bad.customers.GetCustomer(request)) for _ in range(8)]
    assert outcomes == [(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")] * 5 + [LIMITED] * 3
    assert len(decoded) == 6  # the calls refused before it never reach the signature check
    with pytest.raises(grpc.RpcError) as caught:
        api.stubs(token("good")).customer()  # the same peer: refused before its good token is read
    assert (rich(caught.value).code, rich(caught.value).has_retry_info) == (grpc.StatusCode.RESOURCE_EXHAUSTED, True)
    assert len(decoded) == 6
