"""Returns over gRPC and REST on a real server: restock and scrap, replays by key, etags, bad input, and returns racing shipments."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest
from sqlalchemy import Engine, text

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from storage import invariants
from tests.helpers import Stubs, outcome, rich, unique

S = order_pb2
RESTOCK, SCRAP = S.RETURN_DISPOSITION_RESTOCK, S.RETURN_DISPOSITION_SCRAP


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _return(
    stubs: Stubs, order_id: str, *lines: tuple[str, int, int], reason: str = "wrong size", etag: str = "", key: str = ""
) -> order_pb2.Return:
    items = [S.CreateReturnRequest.Item(product_id=p, quantity=q, disposition=d) for p, q, d in lines]  # type: ignore[arg-type]
    request = S.CreateReturnRequest(order_id=order_id, items=items, reason=reason, etag=etag)
    return stubs.orders.CreateReturn(request, metadata=[("idempotency-key", key)] if key else None)


def _ship(stubs: Stubs, order_id: str, *lines: tuple[str, int]) -> order_pb2.Shipment:
    items = [S.CreateShipmentRequest.Item(product_id=p, quantity=q) for p, q in lines]
    return stubs.orders.CreateShipment(S.CreateShipmentRequest(order_id=order_id, items=items))


def _confirmed(stubs: Stubs, *lines: tuple[str, int]) -> order_pb2.Order:
    order = stubs.order(stubs.customer().id, *lines)
    return stubs.orders.UpdateOrderStatus(S.UpdateOrderStatusRequest(id=order.id, status=S.ORDER_STATUS_CONFIRMED))


def _figures(stubs: Stubs, product_id: str) -> tuple[int, int, int]:
    p = stubs.products.GetProduct(product_pb2.GetProductRequest(id=product_id))
    return p.on_hand_quantity, p.reserved_quantity, p.available_quantity


def _order(stubs: Stubs, order_id: str) -> order_pb2.Order:
    return stubs.orders.GetOrder(S.GetOrderRequest(id=order_id))


def test_a_return_restocks_one_line_scraps_another_and_leaves_the_status_as_it_was(stubs: Stubs, engine: Engine) -> None:
    a, b = stubs.product(stock=5), stubs.product(stock=5)
    order = _confirmed(stubs, (a.id, 3), (b.id, 2))
    _ship(stubs, order.id, (a.id, 3), (b.id, 1))
    key = unique("return-")
    taken = _return(stubs, order.id, (a.id, 2, RESTOCK), (b.id, 1, SCRAP), key=key)
    assert [(i.product_id, i.quantity, i.disposition) for i in taken.items] == [(a.id, 2, RESTOCK), (b.id, 1, SCRAP)]
    assert (taken.order_id, taken.reason, taken.HasField("create_time")) == (order.id, "wrong size", True)
    after = _order(stubs, order.id)
    assert after.status == S.ORDER_STATUS_PARTIALLY_SHIPPED and int(after.etag) == int(order.etag) + 2
    assert [(i.shipped_quantity, i.returned_quantity, i.open_quantity) for i in after.items] == [(3, 2, 0), (1, 1, 1)]
    assert (_figures(stubs, a.id), _figures(stubs, b.id)) == ((4, 0, 4), (4, 1, 3))  # a: 5 - 3 + 2; b: the scrap stays out
    movement = stubs.movements(a.id)[-1]
    assert (movement.kind, movement.delta, movement.order_id, movement.reason) == (
        product_pb2.STOCK_MOVEMENT_KIND_RETURN, 2, order.id, "returned: wrong size",
    )
    assert [m.kind for m in stubs.movements(b.id)][-1] == product_pb2.STOCK_MOVEMENT_KIND_SHIPMENT
    change = stubs.history(order.id)[-1]
    assert (change.from_status, change.to_status, change.reason, change.actor) == (
        S.ORDER_STATUS_PARTIALLY_SHIPPED, S.ORDER_STATUS_PARTIALLY_SHIPPED, "returned: wrong size", "tester",
    )
    assert _return(stubs, order.id, (a.id, 2, RESTOCK), (b.id, 1, SCRAP), key=key) == taken  # replayed
    assert len([m for m in stubs.movements(a.id) if m.kind == product_pb2.STOCK_MOVEMENT_KIND_RETURN]) == 1
    assert list(stubs.orders.ListReturns(S.ListReturnsRequest(order_id=order.id)).returns) == [taken]
    with engine.connect() as conn:
        events = conn.execute(text(
            "SELECT sequence, type FROM outbox_events WHERE aggregate_type = 'order' AND aggregate_id = :o ORDER BY sequence"
        ), {"o": int(order.id)}).all()
        assert events[-1] == (int(after.etag), "order.return_created") and [s for s, _ in events] == list(range(1, len(events) + 1))
        assert invariants.violations(conn, [a.id, b.id]) == []


def test_returns_page_oldest_first_and_an_unknown_order_is_not_found(stubs: Stubs) -> None:
    product = stubs.product(stock=5)
    order = _confirmed(stubs, (product.id, 3))
    _ship(stubs, order.id, (product.id, 3))
    first, second = (_return(stubs, order.id, (product.id, 1, SCRAP)) for _ in range(2))
    page = stubs.orders.ListReturns(S.ListReturnsRequest(order_id=order.id, page_size=1))
    assert list(page.returns) == [first] and page.next_page_token
    rest = stubs.orders.ListReturns(S.ListReturnsRequest(order_id=order.id, page_token=page.next_page_token))
    assert (list(rest.returns), rest.next_page_token) == ([second], "")
    with pytest.raises(grpc.RpcError) as missing:
        stubs.orders.ListReturns(S.ListReturnsRequest(order_id="999999999"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("lines", "reason", "expected"),
    [
        ([("a", 0, RESTOCK)], "r", "int32.gt_lte"),
        ([("a", -1, RESTOCK)], "r", "int32.gt_lte"),
        ([("a", 1, 0)], "r", "enum.not_in"),
        ([("a", 1, 7)], "r", "enum.defined_only"),
        ([], "r", "repeated.min_items"),
        ([("a", 1, RESTOCK)], "", "string.min_len"),
        ([("a", 1, RESTOCK)], "x" * 501, "string.max_len"),
        ([("a", 1, RESTOCK), ("a", 1, SCRAP)], "r", "DUPLICATE_PRODUCT"),
        ([("other", 1, RESTOCK)], "r", "EXCEEDS_SHIPPED_QUANTITY"),
        ([("unknown", 1, SCRAP)], "r", "EXCEEDS_SHIPPED_QUANTITY"),
        ([("a", 3, RESTOCK)], "r", "EXCEEDS_SHIPPED_QUANTITY"),  # 2 shipped, 1 returned already
        ([("b", 1, RESTOCK)], "r", "EXCEEDS_SHIPPED_QUANTITY"),  # on the order, nothing of it shipped
    ],
)
def test_a_bad_return_is_refused_precisely_and_changes_nothing(
    stubs: Stubs, lines: list[tuple[str, int, int]], reason: str, expected: str
) -> None:
    a, b, other = stubs.product(stock=5), stubs.product(stock=5), stubs.product(stock=5)
    order = _confirmed(stubs, (a.id, 3), (b.id, 1))
    _ship(stubs, order.id, (a.id, 2))
    _return(stubs, order.id, (a.id, 1, SCRAP))
    before = (_order(stubs, order.id), _figures(stubs, a.id), _figures(stubs, b.id), _figures(stubs, other.id), stubs.history(order.id))
    ids = {"a": a.id, "b": b.id, "other": other.id, "unknown": "999999999"}
    with pytest.raises(grpc.RpcError) as caught:
        _return(stubs, order.id, *[(ids[p], q, d) for p, q, d in lines], reason=reason)
    error = rich(caught.value)
    assert expected in (error.reason, *error.field_violations.values()), error
    assert error.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
    if error.reason == "EXCEEDS_SHIPPED_QUANTITY":
        assert error.precondition_subjects == ["items[0]"]
    after = (_order(stubs, order.id), _figures(stubs, a.id), _figures(stubs, b.id), _figures(stubs, other.id), stubs.history(order.id))
    assert after == before
    assert len(stubs.orders.ListReturns(S.ListReturnsRequest(order_id=order.id)).returns) == 1


def test_a_return_with_a_stale_etag_is_aborted_and_one_reused_key_is_refused(stubs: Stubs) -> None:
    product = stubs.product(stock=5)
    order = _confirmed(stubs, (product.id, 2))
    _ship(stubs, order.id, (product.id, 2))
    with pytest.raises(grpc.RpcError) as stale:
        _return(stubs, order.id, (product.id, 1, RESTOCK), etag=order.etag)  # read before the shipment
    assert (stale.value.code(), rich(stale.value).reason) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")  # type: ignore[attr-defined]
    assert _figures(stubs, product.id) == (3, 0, 3)
    key = unique("return-")
    _return(stubs, order.id, (product.id, 1, RESTOCK), etag=_order(stubs, order.id).etag, key=key)
    with pytest.raises(grpc.RpcError) as reused:
        _return(stubs, order.id, (product.id, 1, SCRAP), key=key)
    assert rich(reused.value).reason == "IDEMPOTENCY_KEY_REUSED"
    assert _figures(stubs, product.id) == (4, 0, 4)


def test_returns_over_rest_are_created_replayed_by_key_and_listed(http: httpx.Client, stubs: Stubs) -> None:
    product = stubs.product(stock=4)
    order = _confirmed(stubs, (product.id, 3))
    _ship(stubs, order.id, (product.id, 3))
    etag = _order(stubs, order.id).etag
    body = {"items": [{"productId": product.id, "quantity": 2, "disposition": "RETURN_DISPOSITION_RESTOCK"}], "reason": "late", "etag": etag}
    key = {"Idempotency-Key": unique("rest-return-")}
    created = http.post(f"/v1/orders/{order.id}/returns", json=body, headers=key)
    assert created.status_code == 201, created.text
    replayed = http.post(f"/v1/orders/{order.id}/returns", json=body, headers=key)
    assert (replayed.json(), replayed.headers["idempotent-replayed"]) == (created.json(), "true")
    taken = created.json()
    assert (taken["orderId"], taken["reason"], taken["items"]) == (
        order.id, "late", [{"productId": product.id, "quantity": 2, "disposition": "RETURN_DISPOSITION_RESTOCK"}],
    )
    assert http.get(f"/v1/orders/{order.id}/returns").json()["returns"] == [taken]
    line = http.get(f"/v1/orders/{order.id}").json()["items"][0]
    assert (line["shippedQuantity"], line["returnedQuantity"]) == (3, 2)
    figures = http.get(f"/v1/products/{product.id}").json()
    assert (figures["onHandQuantity"], figures["availableQuantity"]) == ("3", "3")
    stale = http.post(f"/v1/orders/{order.id}/returns", json=body)  # the same etag, now stale
    assert (stale.status_code, stale.json()["error"]["details"][0]["reason"]) == (409, "ETAG_MISMATCH")
    short = {**body, "etag": "", "items": [{"productId": product.id, "quantity": 1, "disposition": "RESTOCK"}]}
    refused = http.post(f"/v1/orders/{order.id}/returns", json=short)
    assert refused.status_code == 400 and "RETURN_DISPOSITION_RESTOCK" in refused.text, refused.text
    over = http.post(f"/v1/orders/{order.id}/returns", json={**short, "items": [{**short["items"][0], "quantity": 2, "disposition": "RETURN_DISPOSITION_SCRAP"}]})  # type: ignore[dict-item]
    assert (over.status_code, over.json()["error"]["status"]) == (400, "FAILED_PRECONDITION"), over.text


def test_returns_racing_shipments_of_the_same_order_never_return_more_than_shipped(stubs: Stubs, engine: Engine) -> None:
    product = stubs.product(stock=12)
    order = _confirmed(stubs, (product.id, 10))

    def step(i: int) -> tuple[str, str]:
        if i % 2 == 0:
            return "ship", outcome(lambda: _ship(stubs, order.id, (product.id, 1)))
        disposition = random.Random(i).choice([RESTOCK, SCRAP])
        return "return", outcome(lambda: _return(stubs, order.id, (product.id, 1, disposition)))

    with ThreadPoolExecutor(16) as pool:
        outcomes = Counter(pool.map(step, range(40)))
    assert set(outcomes) <= {
        ("ship", "OK"), ("ship", "INVALID_STATUS_TRANSITION"), ("return", "OK"), ("return", "EXCEEDS_SHIPPED_QUANTITY"),
    }, outcomes
    line = _order(stubs, order.id).items[0]
    returns = stubs.orders.ListReturns(S.ListReturnsRequest(order_id=order.id, page_size=1000)).returns
    assert line.shipped_quantity == outcomes[("ship", "OK")] == 10  # 20 tries of one unit at an order of 10
    assert line.returned_quantity == outcomes[("return", "OK")] == len(returns) <= line.shipped_quantity
    restocked = sum(1 for r in returns if r.items[0].disposition == RESTOCK)
    assert _figures(stubs, product.id) == (2 + restocked, 0, 2 + restocked)
    with engine.connect() as conn:
        assert invariants.violations(conn, [product.id]) == []


def test_twenty_concurrent_returns_with_one_key_take_the_units_back_once(stubs: Stubs) -> None:
    product = stubs.product(stock=5)
    order = _confirmed(stubs, (product.id, 3))
    _ship(stubs, order.id, (product.id, 3))
    key = unique("return-")

    def attempt(_: int) -> str:
        try:
            return _return(stubs, order.id, (product.id, 1, RESTOCK), key=key).id
        except grpc.RpcError as error:
            return rich(error).reason

    with ThreadPoolExecutor(20) as pool:
        replies = Counter(pool.map(attempt, range(20)))
    [taken] = stubs.orders.ListReturns(S.ListReturnsRequest(order_id=order.id)).returns
    assert set(replies) <= {taken.id, "IDEMPOTENCY_KEY_IN_USE"} and replies[taken.id] >= 1, replies
    assert _order(stubs, order.id).items[0].returned_quantity == 1 and _figures(stubs, product.id) == (3, 0, 3)
