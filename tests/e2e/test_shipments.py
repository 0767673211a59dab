"""Shipments and counts over gRPC and REST on a real server: partial shipping, races, delivery, etags and bad input."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest
from sqlalchemy import Engine

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from storage import invariants
from tests.helpers import Stubs, outcome, rich, unique

S = order_pb2


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _ship(stubs: Stubs, order_id: str, *lines: tuple[str, int], etag: str = "", key: str = "") -> order_pb2.Shipment:
    items = [S.CreateShipmentRequest.Item(product_id=p, quantity=q) for p, q in lines]
    request = S.CreateShipmentRequest(order_id=order_id, items=items, carrier="DHL", tracking_number="JD0001", etag=etag)
    return stubs.orders.CreateShipment(request, metadata=[("idempotency-key", key)] if key else None)


def _confirmed(stubs: Stubs, *lines: tuple[str, int]) -> order_pb2.Order:
    return _confirmed_for(stubs, stubs.customer().id, lines)


def _confirmed_for(stubs: Stubs, customer_id: str, lines: Iterable[tuple[str, int]]) -> order_pb2.Order:
    order = stubs.order(customer_id, *lines)
    return stubs.orders.UpdateOrderStatus(S.UpdateOrderStatusRequest(id=order.id, status=S.ORDER_STATUS_CONFIRMED))


def _figures(stubs: Stubs, product_id: str) -> tuple[int, int, int]:
    p = stubs.products.GetProduct(product_pb2.GetProductRequest(id=product_id))
    return p.on_hand_quantity, p.reserved_quantity, p.available_quantity


def test_thirty_racing_shipments_of_one_unit_ship_exactly_the_ten_ordered(stubs: Stubs) -> None:
    product = stubs.product(stock=12)
    order = _confirmed(stubs, (product.id, 10))
    with ThreadPoolExecutor(30) as pool:
        outcomes = Counter(pool.map(lambda _: outcome(lambda: _ship(stubs, order.id, (product.id, 1))), range(30)))
    assert outcomes == {"OK": 10, "INVALID_STATUS_TRANSITION": 20}  # the tenth shipped the order: nothing is open
    shipped = stubs.orders.GetOrder(S.GetOrderRequest(id=order.id))
    assert (shipped.status, shipped.items[0].shipped_quantity, shipped.items[0].open_quantity) == (S.ORDER_STATUS_SHIPPED, 10, 0)
    assert _figures(stubs, product.id) == (2, 0, 2)
    listed = stubs.orders.ListShipments(S.ListShipmentsRequest(order_id=order.id, page_size=1000)).shipments
    assert len(listed) == 10 and {s.items[0].quantity for s in listed} == {1}
    assert [h.to_status for h in stubs.history(order.id)] == [
        S.ORDER_STATUS_PENDING, S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PARTIALLY_SHIPPED, S.ORDER_STATUS_SHIPPED,
    ]


def test_a_partial_shipment_then_a_cancel_then_the_deliveries(stubs: Stubs) -> None:
    a, b = stubs.product(stock=5), stubs.product(stock=5)
    order = _confirmed(stubs, (a.id, 3), (b.id, 2))
    shipment = _ship(stubs, order.id, (a.id, 2), key=unique("ship-"))
    assert (shipment.carrier, shipment.tracking_number, shipment.state) == ("DHL", "JD0001", S.SHIPMENT_STATE_SHIPPED)
    assert _figures(stubs, a.id) == (3, 1, 2)
    canceled = stubs.orders.CancelOrder(S.CancelOrderRequest(id=order.id, reason="rest not wanted"))
    assert canceled.status == S.ORDER_STATUS_SHIPPED
    assert [(i.shipped_quantity, i.canceled_quantity, i.open_quantity) for i in canceled.items] == [(2, 1, 0), (0, 2, 0)]
    assert (_figures(stubs, a.id), _figures(stubs, b.id)) == ((3, 0, 3), (5, 0, 5))
    delivered = stubs.orders.DeliverShipment(S.DeliverShipmentRequest(order_id=order.id, shipment_id=shipment.id))
    assert delivered.state == S.SHIPMENT_STATE_DELIVERED and delivered.HasField("deliver_time")
    assert stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)).status == S.ORDER_STATUS_DELIVERED
    again = stubs.orders.DeliverShipment(S.DeliverShipmentRequest(order_id=order.id, shipment_id=shipment.id))
    assert again == delivered  # delivering a delivered shipment changes nothing
    assert stubs.orders.GetShipment(S.GetShipmentRequest(order_id=order.id, shipment_id=shipment.id)) == delivered


@pytest.mark.parametrize(
    ("lines", "status", "reason"),
    [
        ([("a", 0)], None, "int32.gt_lte"),
        ([("a", -1)], None, "int32.gt_lte"),
        ([("other", 1)], None, "EXCEEDS_OPEN_QUANTITY"),
        ([("unknown", 1)], None, "EXCEEDS_OPEN_QUANTITY"),
        ([("a", 4)], None, "EXCEEDS_OPEN_QUANTITY"),
        ([("a", 1)], "cancel", "INVALID_STATUS_TRANSITION"),
        ([("a", 1)], "deliver", "INVALID_STATUS_TRANSITION"),
        ([("a", 1)], "pending", "INVALID_STATUS_TRANSITION"),
    ],
)
def test_a_bad_shipment_is_refused_precisely_and_changes_nothing(stubs: Stubs, lines: list[tuple[str, int]], status: str | None, reason: str) -> None:
    a, other = stubs.product(stock=5), stubs.product(stock=5)
    order = stubs.order(stubs.customer().id, (a.id, 3))
    for target in {None: [S.ORDER_STATUS_CONFIRMED], "pending": [], "cancel": [], "deliver": [S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PICKED, S.ORDER_STATUS_SHIPPED, S.ORDER_STATUS_DELIVERED]}[status]:
        stubs.orders.UpdateOrderStatus(S.UpdateOrderStatusRequest(id=order.id, status=target))
    if status == "cancel":
        stubs.orders.CancelOrder(S.CancelOrderRequest(id=order.id, reason="test"))
    before = (stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)), _figures(stubs, a.id), _figures(stubs, other.id))
    ids = {"a": a.id, "other": other.id, "unknown": "999999999"}
    with pytest.raises(grpc.RpcError) as caught:
        _ship(stubs, order.id, *[(ids[p], q) for p, q in lines])
    error = rich(caught.value)
    assert reason in (error.reason, *error.field_violations.values()), error
    assert (stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)), _figures(stubs, a.id), _figures(stubs, other.id)) == before


def test_a_stale_etag_is_aborted_and_the_current_one_applies(stubs: Stubs) -> None:
    product = stubs.product(stock=5)
    order = _confirmed(stubs, (product.id, 2))
    with pytest.raises(grpc.RpcError) as caught:
        _ship(stubs, order.id, (product.id, 1), etag="1")
    assert (caught.value.code(), rich(caught.value).reason) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")  # type: ignore[attr-defined]
    _ship(stubs, order.id, (product.id, 1), etag=order.etag)
    assert _figures(stubs, product.id) == (4, 1, 3)


def test_shipments_over_rest_are_created_listed_read_delivered_and_replayed_by_key(http: httpx.Client, stubs: Stubs) -> None:
    product = stubs.product(stock=4)
    order = _confirmed(stubs, (product.id, 3))
    body = {"items": [{"productId": product.id, "quantity": 3}], "carrier": "UPS", "trackingNumber": "1Z999", "etag": order.etag}
    key = {"Idempotency-Key": unique("rest-ship-")}
    created = http.post(f"/v1/orders/{order.id}/shipments", json=body, headers=key)
    assert created.status_code in (200, 201), created.text
    replayed = http.post(f"/v1/orders/{order.id}/shipments", json=body, headers=key)
    assert replayed.json() == created.json()
    shipment = created.json()
    assert (shipment["state"], shipment["items"]) == ("SHIPMENT_STATE_SHIPPED", [{"productId": product.id, "quantity": 3}])
    assert http.get(f"/v1/orders/{order.id}/shipments").json()["shipments"] == [shipment]
    assert http.get(f"/v1/orders/{order.id}/shipments/{shipment['id']}").json() == shipment
    delivered = http.post(f"/v1/orders/{order.id}/shipments/{shipment['id']}:deliver", json={})
    assert delivered.json()["state"] == "SHIPMENT_STATE_DELIVERED"
    final = http.get(f"/v1/orders/{order.id}").json()
    assert (final["status"], final["items"][0]["shippedQuantity"]) == ("ORDER_STATUS_DELIVERED", 3)
    figures = http.get(f"/v1/products/{product.id}").json()
    assert (figures["onHandQuantity"], figures["reservedQuantity"], figures["availableQuantity"]) == ("1", "0", "1")
    stale = http.post(f"/v1/orders/{order.id}:cancel", json={"reason": "late", "etag": order.etag})
    assert (stale.status_code, stale.json()["error"]["details"][0]["reason"]) == (409, "ETAG_MISMATCH")


def _count(stubs: Stubs, product_id: str, counted: int, expected: int) -> product_pb2.CountStockResponse:
    request = product_pb2.CountStockRequest(product_id=product_id, counted_quantity=counted, expected_on_hand_quantity=expected, reason="cycle count")
    return stubs.products.CountStock(request)


def test_a_count_sets_on_hand_and_a_stale_or_undercutting_count_changes_nothing(stubs: Stubs, http: httpx.Client) -> None:
    product = stubs.product(stock=8)
    order = stubs.order(stubs.customer().id, (product.id, 3))
    counted = _count(stubs, product.id, 6, 8)
    assert (counted.movement.kind, counted.movement.delta, counted.product.on_hand_quantity) == (product_pb2.STOCK_MOVEMENT_KIND_COUNT, -2, 6)
    with pytest.raises(grpc.RpcError) as stale:
        _count(stubs, product.id, 5, 8)
    assert (stale.value.code(), rich(stale.value).reason, rich(stale.value).metadata["on_hand"]) == (grpc.StatusCode.ABORTED, "STOCK_MOVED", "6")  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as below:
        _count(stubs, product.id, 2, 6)
    assert (rich(below.value).reason, rich(below.value).precondition_subjects) == ("COUNT_BELOW_RESERVED", [f"orders/{order.id}"])
    assert _figures(stubs, product.id) == (6, 3, 3)
    body = {"countedQuantity": "9", "expectedOnHandQuantity": "6", "reason": "found a box"}
    reply = http.post(f"/v1/products/{product.id}:countStock", json=body)
    assert reply.status_code == 200, reply.text
    assert (reply.json()["product"]["onHandQuantity"], reply.json()["movement"]["delta"]) == ("9", "3")


def test_shipments_racing_cancels_and_counts_keep_every_invariant(stubs: Stubs, engine: Engine) -> None:
    products = [stubs.product(stock=30) for _ in range(3)]
    customer = stubs.customer()
    placed = [_confirmed_for(stubs, customer.id, [(p.id, 3) for p in random.Random(i).sample(products, 2)]) for i in range(12)]

    def step(i: int) -> str:
        r = random.Random(i)
        order, product = r.choice(placed), r.choice(products)
        if i % 3 == 0:
            return outcome(lambda: _ship(stubs, order.id, (order.items[0].product_id, 1)))
        if i % 3 == 1:
            return outcome(lambda: stubs.orders.CancelOrder(S.CancelOrderRequest(id=order.id, reason="race")))
        on_hand = _figures(stubs, product.id)[0]
        return outcome(lambda: _count(stubs, product.id, on_hand + r.choice([-2, 1]), on_hand))

    with ThreadPoolExecutor(12) as pool:
        outcomes = Counter(pool.map(step, range(90)))
    assert outcomes["OK"] and set(outcomes) <= {
        "OK", "INVALID_STATUS_TRANSITION", "EXCEEDS_OPEN_QUANTITY", "STOCK_MOVED", "COUNT_BELOW_RESERVED",
    }, outcomes
    with engine.connect() as conn:
        assert invariants.violations(conn, [p.id for p in products]) == []
