"""Authentication, idempotency and rate limits of the real server, seen through REST."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine, text

from service.runtime import http_server as rest
from service.grpc.methods import ORDERS_READ
from service.settings import Settings
from tests.conftest import BOTH_BACKENDS, gateway_backend, running_server
from tests.e2e.test_gateway_rest import _customer, _product
from tests.helpers import lock_waits, token, until

GATEWAY_BACKENDS = BOTH_BACKENDS


def _reason(reply: httpx.Response) -> str:
    return next(d["reason"] for d in reply.json()["error"]["details"] if d["@type"].endswith("ErrorInfo"))


def test_the_same_idempotency_key_twice_makes_one_order_and_says_replayed(http: httpx.Client) -> None:
    customer, product = _customer(http), _product(http, stock=10)
    body = {"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 2}]}
    first = http.post("/v1/orders", json=body, headers={"Idempotency-Key": f"rest-{product['id']}"})
    again = http.post("/v1/orders", json=body, headers={"Idempotency-Key": f"rest-{product['id']}"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert http.get(f"/v1/products/{product['id']}").json()["stockQuantity"] == "8"


def test_a_reused_key_with_another_body_is_422(http: httpx.Client) -> None:
    customer, product = _customer(http), _product(http, stock=10)
    key = {"Idempotency-Key": f"rest-reused-{product['id']}"}
    http.post("/v1/orders", json={"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 1}]}, headers=key)
    reply = http.post("/v1/orders", json={"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 3}]}, headers=key)
    assert (reply.status_code, reply.json()["error"]["status"], _reason(reply)) == (422, "INVALID_ARGUMENT", "IDEMPOTENCY_KEY_REUSED")
    assert http.get(f"/v1/products/{product['id']}").json()["stockQuantity"] == "9"


def test_a_key_still_in_flight_is_409(http: httpx.Client, engine: Engine, observer: Engine) -> None:
    customer, product = _customer(http), _product(http, stock=10)
    key = {"Idempotency-Key": f"rest-in-flight-{product['id']}"}
    body = {"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 1}]}
    with engine.connect() as holder, ThreadPoolExecutor(1) as pool:
        holder.execute(text("SELECT id FROM products WHERE id = :id FOR UPDATE"), {"id": int(product["id"])})
        first = pool.submit(lambda: http.post("/v1/orders", json=body, headers=key))
        until(lambda: lock_waits(observer) > 0, "the first request holds the key")
        second = http.post("/v1/orders", json=body, headers=key)
        holder.rollback()
        assert first.result(timeout=30).status_code == 201
    assert (second.status_code, _reason(second)) == (409, "IDEMPOTENCY_KEY_IN_USE")


def test_no_token_is_401_and_a_missing_role_is_403(http: httpx.Client) -> None:
    anonymous = http.get("/v1/orders", headers={"Authorization": ""})
    assert (anonymous.status_code, _reason(anonymous)) == (401, "UNAUTHENTICATED")
    reader = {"Authorization": f"Bearer {token('rest-reader', [ORDERS_READ])}"}
    denied = http.post("/v1/orders", json={"customerId": "1", "items": [{"productId": "1", "quantity": 1}]}, headers=reader)
    assert (denied.status_code, _reason(denied)) == (403, "PERMISSION_DENIED")


@pytest.fixture(params=BOTH_BACKENDS)
def limited_http(settings: Settings, engine: Engine, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    limited = dataclasses.replace(settings, rate_limit_write="1/min", http_host="127.0.0.1", http_port=0)
    with running_server(limited, engine) as running:
        gateway = rest.start(limited, gateway_backend(request.param, limited, running))
        headers = {"Authorization": f"Bearer {token(f'rest-limited-{request.param}')}"}  # a bucket per backend
        with httpx.Client(base_url=f"http://127.0.0.1:{gateway.port}", timeout=30, headers=headers) as client:
            yield client
        rest.stop(gateway)


def test_over_the_rate_limit_is_429_with_retry_after(limited_http: httpx.Client) -> None:
    _customer(limited_http)
    reply = limited_http.post("/v1/customers", json={"name": "x", "document": "12345678901", "email": "x@example.com"})
    assert (reply.status_code, _reason(reply)) == (429, "RATE_LIMITED")
    assert 1 <= int(reply.headers["retry-after"]) <= 60
