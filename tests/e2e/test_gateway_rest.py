"""Every RPC over REST through the gateway, against the real gRPC server on MariaDB."""

from __future__ import annotations

import httpx

from service.runtime.http_server import FILES
from tests.helpers import cpf, unique


def _customer(http: httpx.Client, **overrides: object) -> dict:  # type: ignore[type-arg]
    body = {"name": "REST Buyer", "document": cpf(), "email": f"{unique()}@example.com", **overrides}
    reply = http.post("/v1/customers", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def _product(http: httpx.Client, stock: int = 10) -> dict:  # type: ignore[type-arg]
    body = {"sku": unique("SKU-"), "name": "Widget", "price": {"currencyCode": "BRL", "units": "12", "nanos": 340000000}, "initialStock": str(stock)}
    reply = http.post("/v1/products", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def _order(http: httpx.Client, customer_id: str, *lines: tuple[str, int]) -> httpx.Response:
    items = [{"productId": p, "quantity": q} for p, q in lines]
    return http.post("/v1/orders", json={"customerId": customer_id, "items": items, "note": "by REST"})


def test_create_returns_201_with_a_location_that_reads_the_same_resource(http: httpx.Client) -> None:
    customer, product = _customer(http), _product(http, stock=5)
    created = _order(http, customer["id"], (product["id"], 2))
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/orders/{created.json()['id']}"
    assert created.headers["x-request-id"]
    fetched = http.get(created.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


def test_json_is_canonical_camel_case_with_enum_names_and_int64_strings(http: httpx.Client) -> None:
    product = _product(http, stock=7)
    assert product["stockQuantity"] == "7"
    assert product["price"] == {"currencyCode": "BRL", "units": "12", "nanos": 340000000}
    order = _order(http, _customer(http)["id"], (product["id"], 3)).json()
    assert order["status"] == "ORDER_STATUS_PENDING"
    assert order["items"][0]["subtotal"] == {"currencyCode": "BRL", "units": "37", "nanos": 20000000}
    assert {"customerId", "createTime", "updateTime", "total"} <= order.keys()


def test_requests_accept_original_proto_field_names_too(http: httpx.Client) -> None:
    customer, product = _customer(http), _product(http)
    reply = http.post("/v1/orders", json={"customer_id": customer["id"], "items": [{"product_id": product["id"], "quantity": 1}]})
    assert reply.status_code == 201, reply.text
    assert reply.json()["customerId"] == customer["id"]


def test_list_filters_by_query_parameters_and_pages_with_tokens(http: httpx.Client) -> None:
    customer, product = _customer(http), _product(http, stock=10)
    ids = [_order(http, customer["id"], (product["id"], 1)).json()["id"] for _ in range(3)]
    http.post(f"/v1/orders/{ids[0]}:cancel", json={"reason": "changed my mind"})
    seen, token = [], ""
    while True:
        page = http.get("/v1/orders", params={"customerId": customer["id"], "pageSize": 2, "pageToken": token}).json()
        seen += [o["id"] for o in page["orders"]]
        token = page["nextPageToken"]
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    pending = http.get("/v1/orders", params={"customer_id": customer["id"], "status": "ORDER_STATUS_PENDING"}).json()
    assert sorted(o["id"] for o in pending["orders"]) == sorted(ids[1:])
    later = http.get("/v1/orders", params={"customerId": customer["id"], "createTimeFrom": "2999-01-01T00:00:00Z"}).json()
    assert later["orders"] == []


def test_patch_with_an_update_mask_changes_only_the_named_fields(http: httpx.Client) -> None:
    customer = _customer(http, phone="+5511988887777")
    reply = http.patch(
        f"/v1/customers/{customer['id']}", params={"updateMask": "name,address"},
        json={"name": "Renamed", "address": "Rua Nova, 1", "phone": "+5511000000000"},
    )
    assert reply.status_code == 200, reply.text
    updated = reply.json()
    assert (updated["name"], updated["address"], updated["phone"]) == ("Renamed", "Rua Nova, 1", "+5511988887777")
    assert http.get(f"/v1/customers/{customer['id']}").json() == updated


def test_patch_without_a_mask_updates_the_fields_the_body_names_even_to_false_zero_or_empty(http: httpx.Client) -> None:
    product = _product(http)
    reply = http.patch(f"/v1/products/{product['id']}", json={"active": False})
    assert reply.status_code == 200, reply.text
    assert reply.json()["active"] is False and reply.json()["name"] == product["name"]
    customer = _customer(http, phone="+5511988887777", address="Rua Velha, 2")
    # An empty string clears the field; proto names work as JSON names do; the id names the resource.
    reply = http.patch(f"/v1/customers/{customer['id']}", json={"id": customer["id"], "phone": "", "address": "Rua Nova, 1"})
    assert reply.status_code == 200, reply.text
    updated = reply.json()
    assert (updated["phone"], updated["address"], updated["name"]) == ("", "Rua Nova, 1", customer["name"])
    assert http.get(f"/v1/customers/{customer['id']}").json() == updated
    # An explicit mask still wins over the body's keys.
    reply = http.patch(f"/v1/products/{product['id']}", params={"updateMask": "name"}, json={"name": "Kept", "active": True})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["name"], reply.json()["active"]) == ("Kept", False)


def test_products_update_adjust_stock_and_list_movements(http: httpx.Client) -> None:
    product = _product(http, stock=4)
    patched = http.patch(f"/v1/products/{product['id']}", params={"update_mask": "price"}, json={"price": {"currencyCode": "BRL", "units": "20"}})
    assert patched.json()["price"]["units"] == "20"
    adjusted = http.post(f"/v1/products/{product['id']}:adjustStock", json={"delta": "-3", "reason": "cycle count"})
    assert adjusted.status_code == 200, adjusted.text
    assert adjusted.json()["product"]["stockQuantity"] == "1"
    assert adjusted.json()["movement"]["kind"] == "STOCK_MOVEMENT_KIND_ADJUSTMENT"
    movements = http.get(f"/v1/products/{product['id']}/stockMovements").json()["movements"]
    assert [m["delta"] for m in movements] == ["4", "-3"]
    listed = http.get("/v1/products", params={"sku": product["sku"], "active": "true"}).json()["products"]
    assert [p["id"] for p in listed] == [product["id"]]


def test_delete_and_undelete_round_trip(http: httpx.Client) -> None:
    customer = _customer(http)
    deleted = http.delete(f"/v1/customers/{customer['id']}")
    assert deleted.status_code == 200
    assert "deleteTime" in deleted.json()
    hidden = http.get("/v1/customers", params={"document": customer["document"]}).json()["customers"]
    shown = http.get("/v1/customers", params={"document": customer["document"], "showDeleted": "true"}).json()["customers"]
    assert (hidden, [c["id"] for c in shown]) == ([], [customer["id"]])
    restored = http.post(f"/v1/customers/{customer['id']}:undelete")
    assert restored.status_code == 200, restored.text
    assert "deleteTime" not in restored.json()
    product = _product(http)
    assert http.delete(f"/v1/products/{product['id']}").status_code == 200
    assert http.post(f"/v1/products/{product['id']}:undelete", json={}).status_code == 200


def test_cancel_and_status_updates_are_custom_methods_with_a_history(http: httpx.Client) -> None:
    customer, product = _customer(http), _product(http, stock=2)
    order = _order(http, customer["id"], (product["id"], 2)).json()
    confirmed = http.post(f"/v1/orders/{order['id']}:updateStatus", json={"status": "ORDER_STATUS_CONFIRMED", "reason": "paid"})
    assert confirmed.json()["status"] == "ORDER_STATUS_CONFIRMED"
    canceled = http.post(f"/v1/orders/{order['id']}:cancel", json={"reason": "out of budget"})
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "ORDER_STATUS_CANCELED"
    assert http.get(f"/v1/products/{product['id']}").json()["stockQuantity"] == "2"
    history = http.get(f"/v1/orders/{order['id']}/statusHistory").json()["changes"]
    assert [c["toStatus"] for c in history] == ["ORDER_STATUS_PENDING", "ORDER_STATUS_CONFIRMED", "ORDER_STATUS_CANCELED"]
    assert history[2]["reason"] == "out of budget"


def test_every_rpc_has_a_route_in_the_running_gateway(http: httpx.Client) -> None:
    operations = {op["operationId"] for path in http.get("/openapi.json").json()["paths"].values() for op in path.values()}
    rpcs = {m.name for f in FILES for s in f.services_by_name.values() for m in s.methods}
    assert operations == rpcs



def test_list_orders_by_several_statuses_repeats_the_parameter(http: httpx.Client) -> None:
    customer, product = _customer(http), _product(http, stock=5)
    kept = _order(http, customer["id"], (product["id"], 1)).json()["id"]
    canceled = _order(http, customer["id"], (product["id"], 1)).json()["id"]
    assert http.post(f"/v1/orders/{canceled}:cancel", json={"reason": "test"}).status_code == 200
    query = [("customerId", customer["id"]), ("statuses", "ORDER_STATUS_PENDING"), ("statuses", "ORDER_STATUS_CONFIRMED")]
    assert [o["id"] for o in http.get("/v1/orders", params=query).json()["orders"]] == [kept]
    both = [("customerId", customer["id"]), ("statuses", "ORDER_STATUS_PENDING"), ("statuses", "ORDER_STATUS_CANCELED")]
    assert [o["id"] for o in http.get("/v1/orders", params=both).json()["orders"]] == [canceled, kept]
