"""Bad HTTP input gets a 4xx with the offending field named, never a 500, and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import BOTH_BACKENDS, GATEWAY_MAX_BODY_BYTES
from tests.helpers import cpf, unique

GATEWAY_BACKENDS = BOTH_BACKENDS


@pytest.fixture(scope="module")
def stock(http: httpx.Client) -> dict[str, str]:
    customer = http.post("/v1/customers", json={"name": "Bad Input", "document": cpf(), "email": f"{unique()}@example.com"}).json()
    product = http.post("/v1/products", json={"sku": unique("SKU-"), "name": "W", "price": {"units": "1"}, "initialStock": "5"}).json()
    return {"customer": customer["id"], "product": product["id"]}


def _error(reply: httpx.Response) -> tuple[int, str, dict[str, str]]:
    """Status, ErrorInfo reason and BadRequest field → description, checking the AIP-193 shape on the way."""
    error = reply.json()["error"]
    assert error["code"] == reply.status_code
    assert isinstance(error["message"], str) and error["status"]
    reasons = [d["reason"] for d in error["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    fields = {v.get("field", ""): v["description"] for d in error["details"] if d["@type"].endswith("BadRequest") for v in d["fieldViolations"]}
    return reply.status_code, reasons[0], fields


def _unchanged(http: httpx.Client, stock: dict[str, str]) -> None:
    assert http.get(f"/v1/products/{stock['product']}").json()["stockQuantity"] == "5"
    assert http.get("/v1/orders", params={"customerId": stock["customer"]}).json()["orders"] == []


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        (b'{"customerId": ', "INVALID_JSON", ""),
        (b"[1, 2]", "INVALID_BODY", ""),
        (b'"just a string"', "INVALID_BODY", ""),
        (b'{"customerId": "C", "items": [{"productId": "P", "quantity": "many"}]}', "INVALID_FIELD_VALUE", "items.quantity"),
        (b'{"customerId": "C", "items": [{"productId": "P", "quantity": 1.5}]}', "INVALID_FIELD_VALUE", "items[0].quantity"),
        (b'{"customerId": "C", "items": [{"productId": "P", "quantity": 1, "colour": "red"}]}', "UNKNOWN_FIELD", "items[0].colour"),
        (b'{"customerId": "C", "items": {"productId": "P"}}', "INVALID_FIELD_VALUE", "items"),
        (b'{"customerId": 42, "items": []}', "INVALID_FIELD_VALUE", "customerId"),
        (b'{"customerId": "C", "discount": 100}', "UNKNOWN_FIELD", "discount"),
    ],
)
def test_malformed_or_mistyped_bodies_get_400_naming_the_field(
    http: httpx.Client, stock: dict[str, str], body: bytes, reason: str, field: str
) -> None:
    reply = http.post("/v1/orders", content=body.replace(b'"C"', f'"{stock["customer"]}"'.encode()).replace(b'"P"', f'"{stock["product"]}"'.encode()), headers=JSON)
    status, got_reason, fields = _error(reply)
    assert (status, got_reason) == (400, reason)
    assert field in fields
    _unchanged(http, stock)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"customerId": "C", "customer_id": "C", "items": [{"productId": "P", "quantity": 1}]}', "customerId"),
        (b'{"customerId": "C", "customerId": "C", "items": [{"productId": "P", "quantity": 1}]}', "customerId"),
        (b'{"customerId": "C", "items": [{"productId": "P", "quantity": 1, "quantity": 2}]}', "items[0].quantity"),
        (b'{"customerId": "C", "items": [{"productId": "P", "quantity": 1}, {"product_id": "P", "productId": "P"}]}', "items[1].productId"),
        (b'{"customerId": "C", "note": "at 10:00", "note": "at 11:00", "items": [{"productId": "P", "quantity": 1}]}', "note"),
    ],
)
def test_an_ambiguous_body_a_key_twice_or_a_field_under_both_names_gets_400_naming_the_field(
    http: httpx.Client, stock: dict[str, str], body: bytes, field: str
) -> None:
    reply = http.post("/v1/orders", content=body.replace(b'"C"', f'"{stock["customer"]}"'.encode()).replace(b'"P"', f'"{stock["product"]}"'.encode()), headers=JSON)
    status, reason, fields = _error(reply)
    assert (status, reason) == (400, "DUPLICATE_FIELD")
    assert field in fields
    _unchanged(http, stock)


def test_a_missing_body_is_an_empty_request_that_fails_validation_field_by_field(http: httpx.Client, stock: dict[str, str]) -> None:
    status, reason, fields = _error(http.post("/v1/orders"))
    assert (status, reason) == (400, "INVALID_ARGUMENT")
    assert {"customer_id", "items"} <= fields.keys()
    _unchanged(http, stock)


def test_a_body_that_is_not_json_gets_415(http: httpx.Client, stock: dict[str, str]) -> None:
    form = http.post("/v1/orders", data={"customerId": stock["customer"]})
    assert _error(form)[:2] == (415, "UNSUPPORTED_MEDIA_TYPE")
    text = http.post("/v1/orders", content=b"{}", headers={"content-type": "text/plain"})
    assert _error(text)[:2] == (415, "UNSUPPORTED_MEDIA_TYPE")
    _unchanged(http, stock)


def test_a_body_over_the_configured_limit_gets_413(http: httpx.Client, stock: dict[str, str]) -> None:
    note = "x" * GATEWAY_MAX_BODY_BYTES
    body = {"customerId": stock["customer"], "items": [{"productId": stock["product"], "quantity": 1}], "note": note}
    assert _error(http.post("/v1/orders", json=body))[:2] == (413, "BODY_TOO_LARGE")

    def chunks():  # no Content-Length: the limit holds while streaming too
        yield b'{"note": "'
        for _ in range(GATEWAY_MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    assert _error(http.post("/v1/orders", content=chunks(), headers=JSON))[:2] == (413, "BODY_TOO_LARGE")
    _unchanged(http, stock)


def test_a_body_under_the_limit_but_over_the_rules_is_a_field_violation(http: httpx.Client, stock: dict[str, str]) -> None:
    body = {"customerId": stock["customer"], "items": [{"productId": stock["product"], "quantity": 1}], "note": "x" * 1001}
    status, reason, fields = _error(http.post("/v1/orders", json=body))
    assert (status, "note") == (400, next(iter(fields)))
    _unchanged(http, stock)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": "ten"}, "pageSize"),
        ({"status": "ORDER_STATUS_LOST"}, "status"),
        ({"createTimeFrom": "yesterday"}, "createTimeFrom"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_query_parameters_get_400_naming_the_parameter(http: httpx.Client, params: dict[str, str], field: str) -> None:
    status, _, fields = _error(http.get("/v1/orders", params=params))
    assert status == 400
    assert field in fields


def test_a_path_field_repeated_in_the_body_is_refused(http: httpx.Client, stock: dict[str, str]) -> None:
    reply = http.post(f"/v1/products/{stock['product']}:adjustStock", json={"id": "other", "delta": "1", "reason": "r"})
    assert _error(reply)[:2] == (400, "FIELD_BOUND_BY_PATH")
    _unchanged(http, stock)


def test_unknown_routes_get_404_and_wrong_methods_405_with_allow(http: httpx.Client) -> None:
    assert _error(http.get("/v2/orders"))[:2] == (404, "ROUTE_NOT_FOUND")
    wrong = http.put("/v1/orders")
    assert _error(wrong)[:2] == (405, "METHOD_NOT_ALLOWED")
    assert wrong.headers["allow"] == "GET, POST"
    assert _error(http.post("/openapi.json"))[0] == 405


def test_a_malformed_grpc_timeout_header_gets_400_still_with_a_request_id(http: httpx.Client) -> None:
    reply = http.get("/v1/orders", headers={"Grpc-Timeout": "soon"})
    assert _error(reply)[:2] == (400, "INVALID_HEADER")
    assert reply.headers["x-request-id"]


def test_errors_read_as_sentences_and_keep_their_rule_ids(http: httpx.Client, stock: dict[str, str]) -> None:
    status, reason, fields = _error(http.post("/v1/customers", json={"name": "", "document": "12.345", "email": "a@example.com"}))
    assert (status, reason) == (400, "INVALID_ARGUMENT")
    assert fields == {"name": "must not be empty", "document": "must be a CPF (11 digits) or a CNPJ (14 digits), digits only"}
    _, _, digits = _error(http.post("/v1/customers", json={"name": "x", "document": "12345678901", "email": "a@example.com"}))
    assert digits == {"document": "is not a valid CPF: its check digits do not match"}
    details = http.post("/v1/customers", json={"name": "", "document": "1", "email": "a@example.com"}).json()["error"]["details"]
    assert {v["reason"] for d in details if d["@type"].endswith("BadRequest") for v in d["fieldViolations"]} == {"string.min_len", "string.pattern"}

    _unchanged(http, stock)
    # An order of its own, so the module's customer keeps having none.
    own = http.post("/v1/customers", json={"name": "Words", "document": cpf(), "email": f"{unique()}@example.com"}).json()
    order = http.post("/v1/orders", json={"customerId": own["id"], "items": [{"productId": stock["product"], "quantity": 1}]}).json()
    refused = http.post(f"/v1/orders/{order['id']}:updateStatus", json={"status": "ORDER_STATUS_CANCELED"})
    assert "CancelOrder" in _error(refused)[2]["status"]
    assert http.post(f"/v1/orders/{order['id']}:cancel", json={"reason": "test"}).status_code == 200
    again = http.post(f"/v1/orders/{order['id']}:cancel", json={"reason": "test"})
    assert (again.status_code, again.json()["error"]["message"]) == (400, f"order {order['id']} is already canceled")

    _, _, bad_date = _error(http.get("/v1/orders", params={"createTimeFrom": "2026-12"}))
    assert bad_date == {"createTimeFrom": "must be an RFC 3339 timestamp with a time and a zone, such as 2026-12-01T00:00:00Z"}
    _, _, bad_enum = _error(http.get("/v1/orders", params={"status": "DONE"}))
    assert bad_enum["status"].startswith("must be one of ORDER_STATUS_PENDING, ") and bad_enum["status"].endswith(", not DONE")
