"""Authentication where the real server matters: a long subject in the database's actor columns, and
two authorization headers over the wire. Tokens, roles and actors are tested in tests/unit/test_api_auth.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest

from service._gen.erp.orders.v1 import order_pb2
from service.runtime.grpc_server import Running
from tests.helpers import Stubs, authorized_channel, rich, token


@contextmanager
def _stubs(server: Running, bearer: str | None) -> Iterator[Stubs]:
    with authorized_channel(server.port, bearer) as channel:
        yield Stubs.on(channel)


def test_a_sub_of_255_characters_is_the_actor_of_its_writes(server: Running) -> None:
    with _stubs(server, token("é" * 255)) as stubs:
        product = stubs.product(stock=3)
        assert [m.actor for m in stubs.movements(product.id)] == ["é" * 255]


def test_two_authorization_headers_are_refused_even_when_both_are_valid(server: Running) -> None:
    bearer = f"Bearer {token('alice')}"
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        with pytest.raises(grpc.RpcError) as caught:
            Stubs.on(channel).orders.GetOrder(
                order_pb2.GetOrderRequest(id="1"), metadata=[("authorization", bearer), ("authorization", bearer)]
            )
    error = rich(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
    assert "one authorization" in error.message
