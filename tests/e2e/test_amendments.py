"""AmendOrder over gRPC and REST on a real server: races, validate_only, replays, etags and bad input."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest
from sqlalchemy import Engine, func, select

from service._gen.erp.orders.v1 import order_pb2, product_pb2
from storage import invariants
from storage.schema import outbox_events, status_history, stock_movements
from tests.helpers import Stubs, outcome, rich, unique

S = order_pb2


@pytest.fixture
def stubs(channel: grpc.Channel) -> Stubs:
    return Stubs.on(channel)


def _amend(
    stubs: Stubs, order_id: str, *lines: tuple[str, int], etag: str = "", key: str = "", validate_only: bool = False
) -> order_pb2.AmendOrderResponse:
    items = [S.AmendOrderRequest.Item(product_id=p, quantity=q) for p, q in lines]
    request = S.AmendOrderRequest(id=order_id, items=items, reason="customer called", etag=etag, validate_only=validate_only)
    return stubs.orders.AmendOrder(request, metadata=[("idempotency-key", key)] if key else None)


def _figures(stubs: Stubs, product_id: str) -> tuple[int, int, int]:
    p = stubs.products.GetProduct(product_pb2.GetProductRequest(id=product_id))
    return p.on_hand_quantity, p.reserved_quantity, p.available_quantity


def _written(engine: Engine, order_id: str) -> tuple[int, int, int]:
    """The order's ledger rows, history rows and outbox events."""
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t).where(column == int(order_id))).scalar_one()
            for t, column in (
                (stock_movements, stock_movements.c.order_id),
                (status_history, status_history.c.order_id),
                (outbox_events, outbox_events.c.aggregate_id),
            )
        )


def test_twenty_racing_amendments_against_five_remaining_units_apply_exactly_the_feasible_ones(stubs: Stubs, engine: Engine) -> None:
    product = stubs.product(stock=10)
    order = stubs.order(stubs.customer().id, (product.id, 5))
    targets = range(6, 26)  # each raises the line; only 6 to 10 fit the 10 on hand, whatever the order they run in
    with ThreadPoolExecutor(20) as pool:
        outcomes = dict(zip(targets, pool.map(lambda q: outcome(lambda: _amend(stubs, order.id, (product.id, q))), targets), strict=True))
    assert outcomes == {q: "OK" if q <= 10 else "INSUFFICIENT_STOCK" for q in targets}
    final = stubs.orders.GetOrder(S.GetOrderRequest(id=order.id))
    quantity = final.items[0].quantity
    assert 6 <= quantity <= 10 and final.etag == "6"  # each of the five changed the line
    assert _figures(stubs, product.id) == (10, quantity, 10 - quantity)
    assert final.total.units == 10 * quantity
    with engine.connect() as conn:
        assert invariants.violations(conn, [product.id]) == []


def test_an_amendment_over_grpc_moves_the_stock_and_keeps_prices_and_history(stubs: Stubs, engine: Engine) -> None:
    a, b, c = stubs.product(stock=5, price="10.00"), stubs.product(stock=5, price="2.50"), stubs.product(stock=5, price="4.00")
    order = stubs.order(stubs.customer().id, (a.id, 2), (b.id, 2))
    amended = _amend(stubs, order.id, (a.id, 3), (b.id, 0), (c.id, 2), etag=order.etag).order
    assert [(i.product_id, i.quantity, i.unit_price.units) for i in amended.items] == [(a.id, 3, 10), (c.id, 2, 4)]
    assert (amended.total.units, amended.etag, amended.status) == (38, "2", S.ORDER_STATUS_PENDING)
    assert stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)) == amended
    assert (_figures(stubs, a.id), _figures(stubs, b.id), _figures(stubs, c.id)) == ((5, 3, 2), (5, 0, 5), (5, 2, 3))
    last = stubs.history(order.id)[-1]
    assert (last.from_status, last.to_status, last.reason) == (S.ORDER_STATUS_PENDING, S.ORDER_STATUS_PENDING, "amended: customer called")
    assert [(m.kind, m.delta) for m in stubs.movements(b.id)][-1] == (product_pb2.STOCK_MOVEMENT_KIND_CANCEL, 2)
    with engine.connect() as conn:
        assert invariants.violations(conn, [a.id, b.id, c.id]) == []


def test_validate_only_answers_lines_total_and_shortages_and_changes_nothing(stubs: Stubs, engine: Engine) -> None:
    a, b = stubs.product(stock=4), stubs.product(stock=1)
    order = stubs.order(stubs.customer().id, (a.id, 2))
    before = (stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)), _figures(stubs, a.id), _figures(stubs, b.id), _written(engine, order.id))
    preview = _amend(stubs, order.id, (a.id, 3), (b.id, 2), validate_only=True, key=unique("preview-"))
    assert [(i.product_id, i.quantity) for i in preview.order.items] == [(a.id, 3), (b.id, 2)]
    assert (preview.order.total.units, preview.order.etag) == (50, order.etag)
    assert [(s.product_id, s.requested_quantity, s.available_quantity) for s in preview.shortages] == [(b.id, 2, 1)]
    assert not _amend(stubs, order.id, (a.id, 4), validate_only=True).shortages
    after = (stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)), _figures(stubs, a.id), _figures(stubs, b.id), _written(engine, order.id))
    assert after == before


def test_a_repeat_with_its_key_replays_and_a_stale_etag_never_applies(stubs: Stubs, engine: Engine) -> None:
    product = stubs.product(stock=9)
    order = stubs.order(stubs.customer().id, (product.id, 2))
    key = unique("amend-")
    first = _amend(stubs, order.id, (product.id, 4), etag=order.etag, key=key)
    written = _written(engine, order.id)
    assert _amend(stubs, order.id, (product.id, 4), etag=order.etag, key=key) == first
    assert _written(engine, order.id) == written and _figures(stubs, product.id) == (9, 4, 5)
    with pytest.raises(grpc.RpcError) as caught:
        _amend(stubs, order.id, (product.id, 7), etag=order.etag)
    assert (caught.value.code(), rich(caught.value).reason) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")  # type: ignore[attr-defined]
    assert _written(engine, order.id) == written and _figures(stubs, product.id) == (9, 4, 5)


def test_a_key_the_same_principal_used_for_adjust_stock_serves_amend_order_too(stubs: Stubs) -> None:
    product = stubs.product(stock=5)
    order = stubs.order(stubs.customer().id, (product.id, 1))
    key = [("idempotency-key", unique("shared-"))]
    stubs.products.AdjustStock(product_pb2.AdjustStockRequest(id=product.id, delta=2, reason="found"), metadata=key)
    amended = _amend(stubs, order.id, (product.id, 3), key=key[0][1])  # each method's keys are its own, in Redis and in the database
    assert amended.order.items[0].quantity == 3 and _figures(stubs, product.id) == (7, 3, 4)


@pytest.mark.parametrize(
    ("lines", "status", "code", "reason"),
    [
        ([("a", -1)], None, grpc.StatusCode.INVALID_ARGUMENT, "int32.gte_lte"),
        ([("a", None)], None, grpc.StatusCode.INVALID_ARGUMENT, "required"),  # never read as 0, which removes the line
        ([], None, grpc.StatusCode.INVALID_ARGUMENT, "repeated.min_items"),
        ([("a", 1), ("a", 2)], None, grpc.StatusCode.INVALID_ARGUMENT, "DUPLICATE_PRODUCT"),
        ([("a", 0)], None, grpc.StatusCode.FAILED_PRECONDITION, "ORDER_WOULD_BE_EMPTY"),
        ([("unknown", 1)], None, grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
        ([("a", 9)], None, grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_STOCK"),
        ([("a", 1)], "shipped", grpc.StatusCode.FAILED_PRECONDITION, "ORDER_NOT_AMENDABLE"),
        ([("a", 1)], "picked", grpc.StatusCode.FAILED_PRECONDITION, "ORDER_NOT_AMENDABLE"),
        ([("a", 1)], "canceled", grpc.StatusCode.FAILED_PRECONDITION, "ORDER_NOT_AMENDABLE"),
        ([("a", 1)], "long reason", grpc.StatusCode.INVALID_ARGUMENT, "string.max_len"),
    ],
)
def test_a_bad_amendment_is_refused_precisely_and_changes_nothing(
    stubs: Stubs, engine: Engine, lines: list[tuple[str, int | None]], status: str | None, code: grpc.StatusCode, reason: str
) -> None:
    a = stubs.product(stock=5)
    order = stubs.order(stubs.customer().id, (a.id, 3))
    steps = {"shipped": [S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PICKED, S.ORDER_STATUS_SHIPPED], "picked": [S.ORDER_STATUS_CONFIRMED, S.ORDER_STATUS_PICKED]}
    for target in steps.get(status or "", []):
        stubs.orders.UpdateOrderStatus(S.UpdateOrderStatusRequest(id=order.id, status=target))
    if status == "canceled":
        stubs.orders.CancelOrder(S.CancelOrderRequest(id=order.id, reason="test"))
    before = (stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)), _figures(stubs, a.id), _written(engine, order.id))
    ids = {"a": a.id, "unknown": "999999999"}
    items = [S.AmendOrderRequest.Item(product_id=ids[p], quantity=q) for p, q in lines]  # quantity=None: not set
    request = S.AmendOrderRequest(id=order.id, items=items, reason="x" * 501 if status == "long reason" else "why")
    with pytest.raises(grpc.RpcError) as caught:
        stubs.orders.AmendOrder(request)
    error = rich(caught.value)
    assert error.code == code and reason in (error.reason, *error.field_violations.values()), error
    assert (stubs.orders.GetOrder(S.GetOrderRequest(id=order.id)), _figures(stubs, a.id), _written(engine, order.id)) == before


def test_amendments_over_rest_apply_preview_replay_and_refuse_a_stale_etag(http: httpx.Client, stubs: Stubs) -> None:
    a, b = stubs.product(stock=6), stubs.product(stock=2)
    order = stubs.order(stubs.customer().id, (a.id, 2))
    preview = http.post(f"/v1/orders/{order.id}:amend", json={"items": [{"productId": b.id, "quantity": 3}], "validateOnly": True})
    assert preview.status_code == 200, preview.text
    assert preview.json()["shortages"] == [{"productId": b.id, "requestedQuantity": 3, "availableQuantity": "2"}]
    body = {"items": [{"productId": a.id, "quantity": 5}, {"productId": b.id, "quantity": 1}], "reason": "more", "etag": order.etag}
    key = {"Idempotency-Key": unique("rest-amend-")}
    amended = http.post(f"/v1/orders/{order.id}:amend", json=body, headers=key)
    assert amended.status_code == 200, amended.text
    replayed = http.post(f"/v1/orders/{order.id}:amend", json=body, headers=key)
    assert replayed.json() == amended.json() and replayed.headers["Idempotent-Replayed"] == "true"
    assert [(i["productId"], i["quantity"]) for i in amended.json()["order"]["items"]] == [(a.id, 5), (b.id, 1)]
    assert (_figures(stubs, a.id), _figures(stubs, b.id)) == ((6, 5, 1), (2, 1, 1))
    stale = http.post(f"/v1/orders/{order.id}:amend", json={**body, "items": [{"productId": a.id, "quantity": 1}]})
    assert (stale.status_code, stale.json()["error"]["details"][0]["reason"]) == (409, "ETAG_MISMATCH")
    assert _figures(stubs, a.id) == (6, 5, 1)
    current = http.post(f"/v1/orders/{order.id}:amend", json={"items": [{"productId": a.id, "quantity": 1}], "etag": amended.json()["order"]["etag"]})
    assert current.status_code == 200 and _figures(stubs, a.id) == (6, 1, 5)
    short = http.post(f"/v1/orders/{order.id}:amend", json={"items": [{"productId": b.id, "quantity": 9}]})
    assert short.status_code == 400 and short.json()["error"]["status"] == "FAILED_PRECONDITION"
    unset = http.post(f"/v1/orders/{order.id}:amend", json={"items": [{"productId": a.id}]})
    violations = [v for d in unset.json()["error"]["details"] if d["@type"].endswith("BadRequest") for v in d["fieldViolations"]]
    assert unset.status_code == 400 and [v["field"] for v in violations] == ["items[0].quantity"]
    assert _figures(stubs, a.id) == (6, 1, 5)


def test_amendments_racing_new_orders_cancels_and_shipments_keep_every_invariant(stubs: Stubs, engine: Engine) -> None:
    products = [stubs.product(stock=40) for _ in range(3)]
    customer = stubs.customer()
    placed = [stubs.order(customer.id, *[(p.id, 2) for p in random.Random(i).sample(products, 2)]) for i in range(10)]
    for order in placed[::2]:
        stubs.orders.UpdateOrderStatus(S.UpdateOrderStatusRequest(id=order.id, status=S.ORDER_STATUS_CONFIRMED))

    def step(i: int) -> str:
        r = random.Random(i)
        order, product = r.choice(placed), r.choice(products)
        if i % 4 == 0:
            return outcome(lambda: stubs.order(customer.id, (product.id, r.randint(1, 3))))
        if i % 4 == 1:
            return outcome(lambda: stubs.orders.CancelOrder(S.CancelOrderRequest(id=order.id, reason="race")))
        if i % 4 == 2:
            ship = S.CreateShipmentRequest(order_id=order.id, items=[S.CreateShipmentRequest.Item(product_id=order.items[0].product_id, quantity=1)])
            return outcome(lambda: stubs.orders.CreateShipment(ship))
        return outcome(lambda: _amend(stubs, order.id, (product.id, r.randint(0, 6)), (order.items[0].product_id, r.randint(1, 4))))

    with ThreadPoolExecutor(12) as pool:
        outcomes = Counter(pool.map(step, range(120)))
    assert outcomes["OK"] and set(outcomes) <= {
        "OK", "INVALID_STATUS_TRANSITION", "EXCEEDS_OPEN_QUANTITY", "ORDER_NOT_AMENDABLE", "INSUFFICIENT_STOCK", "DUPLICATE_PRODUCT",
    }, outcomes
    with engine.connect() as conn:
        assert invariants.violations(conn, [p.id for p in products]) == []
