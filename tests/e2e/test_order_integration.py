"""What an ERP integration needs from orders (issue 26), over gRPC and REST against real servers."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import httpx
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from google.type.postal_address_pb2 import PostalAddress
from grpc_status import rpc_status
from sqlalchemy import Engine, select

from service._gen.erp.orders.v1 import customer_pb2 as cpb
from service._gen.erp.orders.v1 import order_pb2 as opb
from service.rest import csv_export
from service.grpc.methods import ORDERS_WRITE
from storage.schema import order_items, orders
from tests.conftest import BOTH_BACKENDS
from tests.helpers import Stubs, outcome, rich, token, unique

# The REST tests run against `serve`'s in-process gateway and a gateway calling over a channel.
GATEWAY_BACKENDS = BOTH_BACKENDS

Item = opb.CreateOrderRequest.Item


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _orders(stubs: Stubs, count: int) -> list[opb.Order]:
    customer, product = stubs.customer(), stubs.product(stock=count)
    return [stubs.order(customer.id, (product.id, 1)) for _ in range(count)]


def test_batch_get_returns_the_orders_in_the_order_asked_with_their_items(stubs: Stubs) -> None:
    first, second, third = _orders(stubs, 3)
    asked = [third.id, first.id, third.id, second.id]
    reply = stubs.orders.BatchGetOrders(opb.BatchGetOrdersRequest(ids=asked))
    assert list(reply.orders) == [third, first, third, second]


def test_batch_get_with_unknown_ids_is_not_found_naming_each_of_them_and_returns_nothing(stubs: Stubs) -> None:
    [known] = _orders(stubs, 1)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.BatchGetOrders(opb.BatchGetOrdersRequest(ids=[known.id, "999999999", "abc", "999999999"]))
    error = rich(caught.value)
    assert (error.code, error.reason, error.metadata["resource"]) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND", "order")
    assert error.message == "orders '999999999', 'abc' not found"
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    named = [info.resource_name for d in status.details if d.Unpack(info := error_details_pb2.ResourceInfo())]
    assert named == ["999999999", "abc"]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [([], {"ids": "repeated.min_items"}), (["1"] * 201, {"ids": "repeated.max_items"}), (["1", "9" * 65], {"ids[1]": "string.max_len"})],
    ids=["none", "201 ids", "an id too long"],
)
def test_a_batch_of_no_ids_too_many_ids_or_a_long_id_is_invalid(stubs: Stubs, ids: list[str], expected: dict[str, str]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.BatchGetOrders(opb.BatchGetOrdersRequest(ids=ids))
    assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, expected)


def test_batch_get_over_rest_takes_repeated_ids_and_answers_404_naming_the_unknown(stubs: Stubs, http: httpx.Client) -> None:
    first, second = _orders(stubs, 2)
    reply = http.get("/v1/orders:batchGet", params=[("ids", second.id), ("ids", first.id)])
    assert reply.status_code == 200, reply.text
    assert [o["id"] for o in reply.json()["orders"]] == [second.id, first.id]
    missing = http.get("/v1/orders:batchGet", params=[("ids", first.id), ("ids", "424242")])
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "order '424242' not found"
    too_many = http.get("/v1/orders:batchGet", params=[("ids", first.id)] * 201)
    assert too_many.status_code == 400


def test_openapi_json_documents_the_batch_limit(http: httpx.Client) -> None:
    [ids] = http.get("/openapi.json").json()["paths"]["/v1/orders:batchGet"]["get"]["parameters"]
    assert (ids["name"], ids["schema"]["minItems"], ids["schema"]["maxItems"], ids["schema"]["items"]["maxLength"]) == ("ids", 1, 200, 64)


def _ordered(stubs: Stubs, customer_id: str, product_id: str, reference: str, key: str | None = None) -> opb.Order:
    request = opb.CreateOrderRequest(customer_id=customer_id, items=[Item(product_id=product_id, quantity=1)], external_reference=reference)
    metadata = [("idempotency-key", key)] if key else None
    reply: opb.Order = stubs.orders.CreateOrder(request, metadata=metadata)
    return reply


def test_a_reference_is_kept_on_the_order_and_a_second_order_with_it_names_the_first(stubs: Stubs) -> None:
    customer, other, product = stubs.customer(), stubs.customer(), stubs.product(stock=10)
    reference = unique("PO-2026/")
    first = _ordered(stubs, customer.id, product.id, reference)
    assert stubs.orders.GetOrder(opb.GetOrderRequest(id=first.id)).external_reference == reference
    with pytest.raises(grpc.RpcError) as caught:
        _ordered(stubs, customer.id, product.id, reference)
    error = rich(caught.value)
    assert (error.code, error.reason, error.metadata["id"]) == (grpc.StatusCode.ALREADY_EXISTS, "EXTERNAL_REFERENCE_TAKEN", first.id)
    assert error.message == f"customer {customer.id} already has order {first.id} with external_reference {reference!r}"
    assert _ordered(stubs, other.id, product.id, reference).external_reference == reference  # unique per customer
    assert _ordered(stubs, customer.id, product.id, reference.lower()).external_reference == reference.lower()  # case matters
    assert stubs.stock(product.id) == 7


def test_the_idempotency_key_rules_come_before_the_reference(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=10)
    reference, key = unique("ERP-"), unique("key-")
    first = _ordered(stubs, customer.id, product.id, reference, key)
    assert _ordered(stubs, customer.id, product.id, reference, key) == first  # a retry replays
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.CreateOrder(
            opb.CreateOrderRequest(customer_id=customer.id, items=[Item(product_id=product.id, quantity=2)], external_reference=reference),
            metadata=[("idempotency-key", key)],
        )
    assert rich(caught.value).reason == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(grpc.RpcError) as taken:
        _ordered(stubs, customer.id, product.id, reference, unique("key-"))
    assert rich(taken.value).reason == "EXTERNAL_REFERENCE_TAKEN"
    assert stubs.stock(product.id) == 9


def test_ten_concurrent_creates_with_one_reference_make_one_order(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=20)
    reference = unique("RACE-")
    with ThreadPoolExecutor(10) as pool:
        outcomes = Counter(pool.map(lambda _: outcome(lambda: _ordered(stubs, customer.id, product.id, reference)), range(10)))
    assert outcomes == {"OK": 1, "EXTERNAL_REFERENCE_TAKEN": 9}
    [order] = stubs.all_orders(customer.id)
    assert order.external_reference == reference and stubs.stock(product.id) == 19


def test_ten_concurrent_rest_creates_with_one_reference_make_one_order(stubs: Stubs, http: httpx.Client) -> None:
    customer, product = stubs.customer(), stubs.product(stock=20)
    body = {"customerId": customer.id, "items": [{"productId": product.id, "quantity": 1}], "externalReference": unique("REST-")}
    with ThreadPoolExecutor(10) as pool:
        statuses = Counter(pool.map(lambda _: http.post("/v1/orders", json=body).status_code, range(10)))
    assert statuses == {201: 1, 409: 9}
    assert len(stubs.all_orders(customer.id)) == 1 and stubs.stock(product.id) == 19


def test_list_orders_filters_by_reference_over_grpc_and_rest(stubs: Stubs, http: httpx.Client) -> None:
    customer, other, product = stubs.customer(), stubs.customer(), stubs.product(stock=10)
    reference = unique("SO-")
    mine, theirs = _ordered(stubs, customer.id, product.id, reference), _ordered(stubs, other.id, product.id, reference)
    _ordered(stubs, customer.id, product.id, unique("SO-"))
    found = stubs.orders.ListOrders(opb.ListOrdersRequest(external_reference=reference)).orders
    assert [o.id for o in found] == [theirs.id, mine.id]
    one = http.get("/v1/orders", params={"externalReference": reference, "customerId": customer.id})
    assert [o["externalReference"] for o in one.json()["orders"]] == [reference] and one.json()["orders"][0]["id"] == mine.id


@pytest.mark.parametrize(
    ("reference", "rule"),
    [("x" * 65, "string.max_len"), ("-PO", "string.pattern"), ("PO 1", "string.pattern"), ("PO-é", "string.pattern")],
    ids=["65 characters", "leading dash", "a space", "not ascii"],
)
def test_a_reference_too_long_or_outside_its_set_is_invalid_on_create_and_list(stubs: Stubs, reference: str, rule: str) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1)
    for call in (
        lambda: _ordered(stubs, customer.id, product.id, reference),
        lambda: stubs.orders.ListOrders(opb.ListOrdersRequest(external_reference=reference)),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {"external_reference": rule})
    assert stubs.stock(product.id) == 1


def test_a_bad_reference_over_rest_reads_as_a_sentence(stubs: Stubs, http: httpx.Client) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1)
    reply = http.post("/v1/orders", json={"customerId": customer.id, "items": [{"productId": product.id, "quantity": 1}], "externalReference": "PO 1"})
    assert reply.status_code == 400
    [bad] = [d for d in reply.json()["error"]["details"] if d["@type"].endswith("BadRequest")]
    assert bad["fieldViolations"][0]["field"] == "external_reference"
    assert bad["fieldViolations"][0]["description"].startswith("must be ASCII letters, digits")


SYNC = "update_time asc"


def _nanos(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def _database_orders(engine: Engine, customer_id: str) -> dict[str, tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(orders.c.id, orders.c.status, orders.c.update_time).where(orders.c.customer_id == int(customer_id)))
        return {str(r.id): (r.status, _nanos(r.update_time)) for r in rows}


class _Mirror:
    """An ERP's copy of one customer's orders, kept by the documented recipe: page by update_time asc
    from the last update_time seen, upsert every order."""

    def __init__(self, stubs: Stubs, customer_id: str) -> None:
        self.stubs, self.customer_id = stubs, customer_id
        self.orders: dict[str, tuple[int, int]] = {}
        self.deliveries: Counter[str] = Counter()
        self.since: Timestamp | None = None

    def sync(self) -> None:
        request = opb.ListOrdersRequest(customer_id=self.customer_id, order_by=SYNC, page_size=7)
        if self.since is not None:
            request.update_time_from.CopyFrom(self.since)
        while True:
            page = self.stubs.orders.ListOrders(request)
            keys = [(o.update_time.ToNanoseconds(), int(o.id)) for o in page.orders]
            assert keys == sorted(keys) and len(set(keys)) == len(keys)
            for order in page.orders:
                self.orders[order.id] = (order.status, order.update_time.ToNanoseconds())
                self.deliveries[order.id] += 1
            if page.orders:
                self.since = page.orders[-1].update_time
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token


def test_a_sync_client_paging_by_update_time_while_orders_change_ends_with_the_database(stubs: Stubs, engine: Engine) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1000)
    placed = [stubs.order(customer.id, (product.id, 1)).id for _ in range(12)]
    mirror = _Mirror(stubs, customer.id)
    deadline = time.monotonic() + 60  # the mirror first holds every placed order, once they are ORDERS_SYNC_SETTLE_S old
    while len(mirror.orders) < len(placed):
        assert time.monotonic() < deadline
        mirror.sync()

    def change(writer: int) -> None:
        mine = placed[writer::3]
        for order_id in mine:
            stubs.orders.UpdateOrderStatus(opb.UpdateOrderStatusRequest(id=order_id, status=opb.ORDER_STATUS_CONFIRMED))
            stubs.order(customer.id, (product.id, 1))
        stubs.orders.CancelOrder(opb.CancelOrderRequest(id=mine[0], reason="sync test"))
        for order_id in mine[1:]:
            stubs.orders.UpdateOrderStatus(opb.UpdateOrderStatusRequest(id=order_id, status=opb.ORDER_STATUS_PICKED))

    with ThreadPoolExecutor(3) as pool:
        writers = [pool.submit(change, w) for w in range(3)]
        while not all(w.done() for w in writers):
            mirror.sync()
        for w in writers:
            w.result()
    deadline = time.monotonic() + 60  # the last changes appear once they are ORDERS_SYNC_SETTLE_S old
    while mirror.orders != (expected := _database_orders(engine, customer.id)):
        assert time.monotonic() < deadline, {k: (mirror.orders.get(k), v) for k, v in expected.items() if mirror.orders.get(k) != v}
        mirror.sync()
    assert len(expected) == 24 and {status for status, _ in expected.values()} == {opb.ORDER_STATUS_CANCELED, opb.ORDER_STATUS_PICKED, opb.ORDER_STATUS_PENDING}
    assert all(mirror.deliveries[order_id] > 1 for order_id in placed)  # changed orders came again after their change


def test_update_time_order_and_filter_over_rest_and_a_bad_order_by_is_invalid(stubs: Stubs, http: httpx.Client) -> None:
    customer, product = stubs.customer(), stubs.product(stock=3)
    first, second = stubs.order(customer.id, (product.id, 1)), stubs.order(customer.id, (product.id, 1))
    stubs.orders.UpdateOrderStatus(opb.UpdateOrderStatusRequest(id=first.id, status=opb.ORDER_STATUS_CONFIRMED))
    params = {"customerId": customer.id, "orderBy": SYNC, "updateTimeFrom": second.update_time.ToJsonString()}
    deadline = time.monotonic() + 60  # until both changes are settled
    while len(reply := http.get("/v1/orders", params=params).json()["orders"]) < 2:
        assert time.monotonic() < deadline
    assert [(o["id"], o["status"]) for o in reply] == [(second.id, "ORDER_STATUS_PENDING"), (first.id, "ORDER_STATUS_CONFIRMED")]
    newest_first = http.get("/v1/orders", params={"customerId": customer.id}).json()["orders"]
    assert [o["id"] for o in newest_first] == [second.id, first.id]
    bad = http.get("/v1/orders", params={"orderBy": "update_time desc"})
    assert bad.status_code == 400
    [violations] = [d["fieldViolations"] for d in bad.json()["error"]["details"] if d["@type"].endswith("BadRequest")]
    assert violations == [{"field": "order_by", "description": "must be 'create_time desc' or 'update_time asc' (or empty)", "reason": "string.in"}]
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.ListOrders(opb.ListOrdersRequest(order_by="id"))
    assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {"order_by": "string.in"})


def test_a_sync_page_token_is_bound_to_its_order(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=3)
    for _ in range(3):
        stubs.order(customer.id, (product.id, 1))
    newest = stubs.orders.ListOrders(opb.ListOrdersRequest(customer_id=customer.id, page_size=1))
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.ListOrders(opb.ListOrdersRequest(customer_id=customer.id, page_size=1, order_by=SYNC, page_token=newest.next_page_token))
    assert rich(caught.value).field_violations == {"page_token": "PAGE_TOKEN_FILTER_MISMATCH"}


def _address(*lines: str, **parts: str) -> PostalAddress:
    return PostalAddress(region_code=parts.pop("region_code", "BR"), address_lines=list(lines), **parts)


def test_an_order_snapshots_its_shipping_address_or_else_the_customers(stubs: Stubs) -> None:
    home = _address("Av. Paulista, 1000", postal_code="01310-100", administrative_area="SP", locality="São Paulo")
    customer, product = stubs.customer(postal_address=home), stubs.product(stock=5)
    assert stubs.customers.GetCustomer(cpb.GetCustomerRequest(id=customer.id)).postal_address == home
    elsewhere = _address("Rua XV de Novembro, 50", locality="Curitiba", recipients=["Compras"])
    items = [Item(product_id=product.id, quantity=1)]
    given = stubs.orders.CreateOrder(opb.CreateOrderRequest(customer_id=customer.id, items=items, shipping_address=elsewhere))
    copied = stubs.order(customer.id, (product.id, 1))
    assert (given.shipping_address, copied.shipping_address) == (elsewhere, home)
    moved = _address("Rua Nova, 1", locality="Campinas")
    update = cpb.UpdateCustomerRequest(customer=cpb.Customer(id=customer.id, postal_address=moved), update_mask=FieldMask(paths=["postal_address"]))
    assert stubs.customers.UpdateCustomer(update).postal_address == moved
    assert stubs.orders.GetOrder(opb.GetOrderRequest(id=copied.id)).shipping_address == home  # a snapshot
    assert stubs.order(customer.id, (product.id, 1)).shipping_address == moved
    assert not stubs.order(stubs.customer().id, (product.id, 1)).HasField("shipping_address")


def test_bad_addresses_are_invalid_naming_each_part_and_change_nothing(stubs: Stubs) -> None:
    customer, product = stubs.customer(), stubs.product(stock=1)
    bad = _address("", "x" * 121, region_code="Brasil", postal_code="9" * 17)
    request = opb.CreateOrderRequest(customer_id=customer.id, items=[Item(product_id=product.id, quantity=1)], shipping_address=bad)
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.CreateOrder(request)
    assert (rich(caught.value).code, rich(caught.value).field_violations) == (grpc.StatusCode.INVALID_ARGUMENT, {
        "shipping_address.region_code": "ADDRESS_REGION_CODE", "shipping_address.address_lines[0]": "ADDRESS_LENGTH",
        "shipping_address.address_lines[1]": "ADDRESS_LENGTH", "shipping_address.postal_code": "ADDRESS_LENGTH",
    })
    with pytest.raises(grpc.RpcError) as revised:
        stubs.customer(postal_address=PostalAddress(revision=1, region_code="BR", address_lines=["x"]))
    assert rich(revised.value).field_violations == {"postal_address.revision": "ADDRESS_REVISION"}
    update = cpb.UpdateCustomerRequest(customer=cpb.Customer(id=customer.id, postal_address=_address()), update_mask=FieldMask(paths=["postal_address"]))
    with pytest.raises(grpc.RpcError) as lineless:
        stubs.customers.UpdateCustomer(update)
    assert rich(lineless.value).field_violations == {"customer.postal_address.address_lines": "ADDRESS_LINES"}
    assert stubs.stock(product.id) == 1


def test_addresses_over_rest_are_camel_case_and_errors_read_as_sentences(stubs: Stubs, http: httpx.Client) -> None:
    customer, product = stubs.customer(), stubs.product(stock=2)
    address = {"regionCode": "BR", "addressLines": ["Av. Brasil, 500"], "locality": "Rio de Janeiro"}
    body = {"customerId": customer.id, "items": [{"productId": product.id, "quantity": 1}], "shippingAddress": address}
    created = http.post("/v1/orders", json=body)
    assert created.status_code == 201, created.text
    shipped_to = created.json()["shippingAddress"]
    assert {k: shipped_to[k] for k in address} == address
    refused = http.post("/v1/orders", json={**body, "shippingAddress": {**address, "regionCode": "bra"}})
    assert refused.status_code == 400
    [bad] = [d["fieldViolations"] for d in refused.json()["error"]["details"] if d["@type"].endswith("BadRequest")]
    assert bad == [{"field": "shipping_address.region_code", "description": "must be a CLDR region code: two capital letters, such as BR", "reason": "ADDRESS_REGION_CODE"}]
    schema = http.get("/openapi.json").json()["components"]["schemas"]["CreateOrderRequest"]["properties"]["shippingAddress"]
    assert "region_code is a CLDR region code" in schema["description"]


def _database_lines(engine: Engine, customer_id: str) -> list[list[str]]:
    """The customer's order lines as the export writes them, straight from the tables."""
    query = (
        select(
            orders, order_items.c.product_id, order_items.c.sku, order_items.c.quantity, order_items.c.unit_price_cents,
            order_items.c.shipped_quantity, order_items.c.canceled_quantity, order_items.c.returned_quantity,
        )
        .join(order_items, order_items.c.order_id == orders.c.id)
        .where(orders.c.customer_id == int(customer_id))
        .order_by(orders.c.id.desc(), order_items.c.line)
    )
    with engine.connect() as conn:
        return [
            [
                str(r.id), r.external_reference or "", str(r.customer_id), opb.OrderStatus.Name(r.status),
                _rfc3339(r.create_time), _rfc3339(r.update_time), str(r.product_id), r.sku, str(r.quantity),
                str(r.shipped_quantity), f"{Decimal(r.unit_price_cents) / 100:.2f}", f"{Decimal(r.unit_price_cents * r.quantity) / 100:.2f}",
                f"{Decimal(r.total_cents) / 100:.2f}", str(r.canceled_quantity), str(r.returned_quantity),
            ]
            for r in conn.execute(query)
        ]


def _rfc3339(when: datetime) -> str:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp.ToJsonString()


def _exported_world(stubs: Stubs) -> tuple[str, list[opb.Order]]:
    customer, cheap, dear = stubs.customer(), stubs.product(stock=50, price="0.10"), stubs.product(stock=50, price="1234.56")
    placed = [stubs.order(customer.id, (cheap.id, n + 1), (dear.id, 1)) for n in range(7)]
    placed.append(_ordered(stubs, customer.id, cheap.id, unique("PO-")))
    for status in (opb.ORDER_STATUS_CONFIRMED, opb.ORDER_STATUS_PICKED, opb.ORDER_STATUS_SHIPPED):
        stubs.orders.UpdateOrderStatus(opb.UpdateOrderStatusRequest(id=placed[0].id, status=status))
    stubs.orders.CancelOrder(opb.CancelOrderRequest(id=placed[1].id, reason="export test"))
    restock = opb.CreateReturnRequest.Item(product_id=cheap.id, quantity=1, disposition=opb.RETURN_DISPOSITION_RESTOCK)
    stubs.orders.CreateReturn(opb.CreateReturnRequest(order_id=placed[0].id, items=[restock], reason="export test"))
    return customer.id, placed


def test_export_streams_every_order_the_filters_select_over_grpc(stubs: Stubs) -> None:
    customer_id, placed = _exported_world(stubs)
    bearer = [("authorization", f"Bearer {token('exporter')}")]  # the test channel adds it to unary calls only
    exported = list(stubs.orders.ExportOrders(opb.ExportOrdersRequest(customer_id=customer_id), metadata=bearer))
    assert exported == stubs.all_orders(customer_id) and {o.id for o in exported} == {o.id for o in placed}
    pending = list(stubs.orders.ExportOrders(opb.ExportOrdersRequest(customer_id=customer_id, status=opb.ORDER_STATUS_PENDING), metadata=bearer))
    assert [o.id for o in pending] == [o.id for o in reversed(placed[2:])]


def test_export_over_rest_is_csv_whose_rows_are_the_databases_lines(stubs: Stubs, http: httpx.Client, engine: Engine) -> None:
    customer_id, _ = _exported_world(stubs)
    with http.stream("GET", "/v1/orders:export", params={"customerId": customer_id}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "text/csv; charset=utf-8"
        text = reply.read().decode()
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == list(csv_export.COLUMNS)
    assert rows == _database_lines(engine, customer_id)
    assert len(rows) == 15 and {row[3] for row in rows} >= {"ORDER_STATUS_SHIPPED", "ORDER_STATUS_CANCELED"}
    assert [row[9] for row in rows if row[3] == "ORDER_STATUS_SHIPPED"] == [row[8] for row in rows if row[3] == "ORDER_STATUS_SHIPPED"]
    assert sorted(row[14] for row in rows) == ["0"] * 14 + ["1"]  # the shipped order's returned unit


def test_export_refuses_bad_filters_and_callers_without_orders_read_before_it_starts(http: httpx.Client) -> None:
    bad = http.get("/v1/orders:export", params={"orderBy": "sku"})
    assert (bad.status_code, bad.headers["content-type"]) == (400, "application/json")
    assert [v["field"] for d in bad.json()["error"]["details"] if d["@type"].endswith("BadRequest") for v in d["fieldViolations"]] == ["order_by"]
    writer = {"Authorization": f"Bearer {token('export-writer', roles=[ORDERS_WRITE])}"}
    denied = http.get("/v1/orders:export", headers=writer)
    assert (denied.status_code, denied.json()["error"]["details"][0]["reason"]) == (403, "PERMISSION_DENIED")
    success = http.get("/openapi.json").json()["paths"]["/v1/orders:export"]["get"]["responses"]["200"]
    assert list(success["content"]) == ["text/csv"] and "shipped_quantity" in success["description"]
