"""Authentication and permissions: bearer JWTs, roles per method, and the actor in the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import jwt
import pytest
from sqlalchemy import Engine

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from service.methods import CATALOG_ADMIN, ORDERS_FULFIL, ORDERS_READ, ORDERS_WRITE
from service.grpc_server import Running
from tests.conftest import running_server, server_settings
from tests.helpers import TEST_SECRET, Stubs, authorized_channel, rich, token


@contextmanager
def _stubs(server: Running, bearer: str | None) -> Iterator[Stubs]:
    with authorized_channel(server.port, bearer) as channel:
        yield Stubs.on(channel)


def _code(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return rich(caught.value).code, rich(caught.value).reason


@pytest.mark.parametrize(
    "bearer",
    [
        None,
        token("alice", ttl_s=-120),
        token("alice", secret="some-other-secret-of-32-bytes!!!"),
        "not.a.jwt",
        jwt.encode({"roles": [ORDERS_READ], "exp": 4102444800}, "test-secret-of-thirty-two-bytes!!", algorithm="HS256"),
    ],
    ids=["no token", "expired", "wrong signature", "garbage", "no sub"],
)
def test_calls_without_a_valid_token_are_unauthenticated(server: Running, bearer: str | None) -> None:
    with _stubs(server, bearer) as stubs:
        assert _code(lambda: stubs.orders.GetOrder(order_pb2.GetOrderRequest(id="1"))) == (
            grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED",
        )


def _signed(claims: dict[str, object]) -> str:
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": "a" * 256, "exp": 4102444800, "roles": [CATALOG_ADMIN]}, "sub claim"),
        ({"sub": "bad\nactor", "exp": 4102444800, "roles": [CATALOG_ADMIN]}, "sub claim"),
        ({"sub": "alice", "exp": 4102444800, "roles": CATALOG_ADMIN}, "roles claim"),
        ({"sub": "alice", "exp": 4102444800, "roles": [CATALOG_ADMIN, 7]}, "roles claim"),
        ({"sub": "alice", "exp": "4102444800", "roles": [CATALOG_ADMIN]}, "exp claim"),
        ({"sub": "alice", "exp": True, "roles": [CATALOG_ADMIN]}, "exp claim"),
    ],
    ids=["sub over 255", "sub with a control character", "roles a string", "roles not all strings", "exp a string", "exp a boolean"],
)
def test_tokens_with_malformed_claims_are_unauthenticated_with_the_claim_named(
    server: Running, claims: dict[str, object], reason: str
) -> None:
    with _stubs(server, _signed(claims)) as stubs:
        with pytest.raises(grpc.RpcError) as caught:
            stubs.product()
    error = rich(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
    assert reason in error.message


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


def test_each_method_needs_its_role_and_permission_is_checked_before_existence(server: Running) -> None:
    with _stubs(server, token("reader", [ORDERS_READ])) as reader:
        denied = (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
        assert _code(lambda: reader.order("999999", ("999999", 1))) == denied
        assert _code(lambda: reader.orders.CancelOrder(order_pb2.CancelOrderRequest(id="999999", reason="r"))) == denied
        move = order_pb2.UpdateOrderStatusRequest(id="999999", status=order_pb2.ORDER_STATUS_CONFIRMED)
        assert _code(lambda: reader.orders.UpdateOrderStatus(move)) == denied
        adjust = product_pb2.AdjustStockRequest(id="999999", delta=1, reason="r")
        assert _code(lambda: reader.products.AdjustStock(adjust)) == denied
        assert _code(lambda: reader.orders.GetOrder(order_pb2.GetOrderRequest(id="999999"))) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    with _stubs(server, token("writer", [ORDERS_WRITE])) as writer:
        assert _code(lambda: writer.orders.GetOrder(order_pb2.GetOrderRequest(id="999999")))[0] == grpc.StatusCode.PERMISSION_DENIED


def test_the_actor_in_history_and_ledger_is_the_tokens_subject(server: Running) -> None:
    with _stubs(server, token("catalog-bot", [CATALOG_ADMIN, ORDERS_READ])) as admin:
        customer, product = admin.customer(), admin.product(stock=5)
    with _stubs(server, token("alice", [ORDERS_WRITE, ORDERS_READ])) as alice:
        order = alice.order(customer.id, (product.id, 2))
    with _stubs(server, token("bob", [ORDERS_FULFIL, ORDERS_READ])) as bob:
        bob.orders.UpdateOrderStatus(order_pb2.UpdateOrderStatusRequest(id=order.id, status=order_pb2.ORDER_STATUS_CONFIRMED))
        assert [h.actor for h in bob.history(order.id)] == ["alice", "bob"]
        assert [m.actor for m in bob.movements(product.id)] == ["catalog-bot", "alice"]


def test_with_auth_disabled_every_call_runs_as_anonymous(mysql_url: str, engine: Engine) -> None:
    with running_server(server_settings(mysql_url, auth="disabled"), engine) as running, _stubs(running, None) as stubs:
        customer, product = stubs.customer(), stubs.product(stock=1)
        order = stubs.order(customer.id, (product.id, 1))
        assert [h.actor for h in stubs.history(order.id)] == ["anonymous"]
