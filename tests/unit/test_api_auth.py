"""Authentication and permissions as the API answers them: bearer JWTs, roles per method, deny by
default, and the token's subject as the actor of writes (tests/unit/api.py: no sockets, no database)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import jwt
import pytest
from google.rpc import error_details_pb2, status_pb2

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from service.runtime.grpc_server import interceptors
from service.grpc.in_process_context import Aborted, InProcessContext
from service.grpc.methods import CATALOG_ADMIN, ORDERS_FULFIL, ORDERS_READ, ORDERS_WRITE
from tests.helpers import TEST_SECRET, Stubs, rich, token
from tests.unit.api import Api, settings

UNAUTHENTICATED = (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
DENIED = (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")


def _code(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return rich(caught.value).code, rich(caught.value).reason


def _signed(claims: dict[str, object]) -> str:
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "bearer",
    [
        None,
        token("alice", ttl_s=-120),
        token("alice", secret="some-other-secret-of-32-bytes!!!"),
        "not.a.jwt",
        _signed({"roles": [ORDERS_READ], "exp": 4102444800}),
    ],
    ids=["no token", "expired", "wrong signature", "garbage", "no sub"],
)
def test_calls_without_a_valid_token_are_unauthenticated(api: Api, bearer: str | None) -> None:
    stubs = api.stubs(bearer)
    assert _code(lambda: stubs.orders.GetOrder(order_pb2.GetOrderRequest(id="1"))) == UNAUTHENTICATED


@pytest.mark.parametrize("header", ["Basic abc", "Bearer ", "Bearer"], ids=["another scheme", "empty token", "no token"])
def test_an_authorization_header_that_is_not_a_bearer_token_is_unauthenticated(api: Api, header: str) -> None:
    stubs = api.stubs(None, ("authorization", header))
    assert _code(lambda: stubs.orders.GetOrder(order_pb2.GetOrderRequest(id="1"))) == UNAUTHENTICATED


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
    api: Api, claims: dict[str, object], reason: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        api.stubs(_signed(claims)).product()
    error = rich(caught.value)
    assert (error.code, error.reason) == UNAUTHENTICATED
    assert reason in error.message
    assert api.tables.products == {}


def test_two_authorization_headers_are_refused_even_when_both_are_valid(api: Api) -> None:
    bearer = token("alice")
    stubs = api.stubs(bearer, ("authorization", f"Bearer {bearer}"))
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.GetOrder(order_pb2.GetOrderRequest(id="1"))
    error = rich(caught.value)
    assert (error.code, error.reason) == UNAUTHENTICATED
    assert "one authorization" in error.message


def test_each_method_needs_its_role_and_permission_is_checked_before_existence(api: Api) -> None:
    reader = api.stubs(token("reader", [ORDERS_READ]))
    assert _code(lambda: reader.order("999999", ("999999", 1))) == DENIED
    assert _code(lambda: reader.orders.CancelOrder(order_pb2.CancelOrderRequest(id="999999", reason="r"))) == DENIED
    move = order_pb2.UpdateOrderStatusRequest(id="999999", status=order_pb2.ORDER_STATUS_CONFIRMED)
    assert _code(lambda: reader.orders.UpdateOrderStatus(move)) == DENIED
    adjust = product_pb2.AdjustStockRequest(id="999999", delta=1, reason="r")
    assert _code(lambda: reader.products.AdjustStock(adjust)) == DENIED
    assert _code(lambda: reader.product()) == DENIED
    assert _code(lambda: reader.orders.GetOrder(order_pb2.GetOrderRequest(id="999999"))) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    writer = api.stubs(token("writer", [ORDERS_WRITE]))
    assert _code(lambda: writer.orders.GetOrder(order_pb2.GetOrderRequest(id="999999"))) == DENIED


def test_a_refusal_names_the_role_the_method_needs(api: Api) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        api.stubs(token("reader", [ORDERS_READ])).product()
    assert rich(caught.value).metadata["role"] == CATALOG_ADMIN


def test_the_actor_in_history_and_ledger_is_the_tokens_subject(api: Api) -> None:
    admin = api.stubs(token("catalog-bot", [CATALOG_ADMIN, ORDERS_READ]))
    customer, product = admin.customer(), admin.product(stock=5)
    order = api.stubs(token("alice", [ORDERS_WRITE, ORDERS_READ])).order(customer.id, (product.id, 2))
    bob = api.stubs(token("bob", [ORDERS_FULFIL, ORDERS_READ]))
    bob.orders.UpdateOrderStatus(order_pb2.UpdateOrderStatusRequest(id=order.id, status=order_pb2.ORDER_STATUS_CONFIRMED))
    assert [h.actor for h in bob.history(order.id)] == ["alice", "bob"]
    assert [m.actor for m in bob.movements(product.id)] == ["catalog-bot", "alice"]


def test_with_auth_disabled_every_call_runs_as_anonymous_with_every_role() -> None:
    stubs: Stubs = Api(config=settings(auth="disabled")).stubs(None)
    customer, product = stubs.customer(), stubs.product(stock=1)
    order = stubs.order(customer.id, (product.id, 1))
    assert [h.actor for h in stubs.history(order.id)] == ["anonymous"]


@pytest.mark.parametrize("bearer", [token("tester"), None], ids=["with every role", "anonymous"])
def test_a_method_without_a_policy_is_refused_whoever_calls_it(bearer: str | None) -> None:
    ran: list[object] = []
    method = "/erp.orders.v1.ExtraService/Forgotten"
    handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
        lambda request, _context: ran.append(request) or b"ran"  # type: ignore[func-returns-value]
    )
    composed = interceptors(settings(), None).intercept_service(lambda _: handler, _Details(method, bearer))
    assert composed is not None and composed.unary_unary is not None
    context = InProcessContext([("authorization", f"Bearer {bearer}")] if bearer else [], None)
    with pytest.raises(Aborted):
        composed.unary_unary(b"", context)  # type: ignore[arg-type]
    assert (context.code(), ran) == (grpc.StatusCode.PERMISSION_DENIED, [])
    status = status_pb2.Status.FromString(dict(context.trailing_metadata() or ())["grpc-status-details-bin"])  # type: ignore[arg-type]
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.reason == "NO_POLICY"


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str, bearer: str | None) -> None:
        self.method = method
        self.invocation_metadata = (("authorization", f"Bearer {bearer}"),) if bearer else ()
