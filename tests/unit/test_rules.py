"""Business rules over plain values: merging, pricing, stock, transitions and updates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

import pytest

from service.domain import rules
from service.domain.errors import (
    DuplicateProduct,
    EtagMismatch,
    ExceedsOpenQuantity,
    ExceedsShippedQuantity,
    InsufficientStock,
    InvalidArgument,
    InvalidStatusTransition,
    NotDeleted,
    NotFound,
    NotOrderable,
    StockBelowReserved,
)
from service.domain.model import (
    Customer,
    Order,
    OrderItem,
    OrderLine,
    OrderStatus,
    Product,
    ReturnDisposition,
    ReturnLine,
    Shipment,
    ShipmentState,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
S = OrderStatus


def product(pid: str = "1", stock: int = 10, price: str = "9.99", active: bool = True, deleted: bool = False) -> Product:
    return Product(pid, f"SKU-{pid}", "p", "", Decimal(price), "BRL", stock, active, NOW, NOW, NOW if deleted else None)


def customer(active: bool = True, deleted: bool = False) -> Customer:
    return Customer("7", "c", "12345678901", "c@x.io", "", "", active, NOW, NOW, NOW if deleted else None)


def test_merge_lines_sums_quantities_per_product_keeping_first_seen_order() -> None:
    lines = [OrderLine("2", 1), OrderLine("1", 600), OrderLine("2", 4), OrderLine("1", 600)]
    assert rules.merge_lines(lines) == [OrderLine("2", 5), OrderLine("1", 1200)]


def test_price_lines_snapshots_the_price_and_sku() -> None:
    [item] = rules.price_lines([OrderLine("1", 3)], {"1": product(price="19.99")})
    assert (item.sku, item.unit_price, item.subtotal) == ("SKU-1", Decimal("19.99"), Decimal("59.97"))


def test_price_lines_reports_every_short_product_at_once() -> None:
    products = {"1": product("1", stock=1), "2": product("2", stock=5), "3": product("3", stock=0)}
    with pytest.raises(InsufficientStock) as caught:
        rules.price_lines([OrderLine("1", 2), OrderLine("2", 5), OrderLine("3", 1)], products)
    assert [(s.product_id, s.requested, s.available) for s in caught.value.shortages] == [("1", 2, 1), ("3", 1, 0)]
    assert [v.subject for v in caught.value.violations] == ["products/1", "products/3"]


@pytest.mark.parametrize(("kw", "reason"), [({"deleted": True}, "PRODUCT_DELETED"), ({"active": False}, "PRODUCT_INACTIVE")])
def test_unorderable_products_fail_before_the_stock_check(kw: dict[str, bool], reason: str) -> None:
    with pytest.raises(NotOrderable) as caught:
        rules.price_lines([OrderLine("1", 99)], {"1": product(stock=0, **kw)})
    assert caught.value.reason == reason


@pytest.mark.parametrize(("kw", "reason"), [({"deleted": True}, "CUSTOMER_DELETED"), ({"active": False}, "CUSTOMER_INACTIVE")])
def test_deleted_or_inactive_customers_cannot_order(kw: dict[str, bool], reason: str) -> None:
    with pytest.raises(NotOrderable) as caught:
        rules.ensure_customer_can_order(customer(**kw))
    assert caught.value.reason == reason


def test_the_happy_path_of_an_order_is_a_straight_line() -> None:
    path = [S.PENDING, S.CONFIRMED, S.PICKED, S.SHIPPED, S.DELIVERED]
    for current, target in pairwise(path):
        assert rules.ensure_transition("1", current, target) is True


@pytest.mark.parametrize(
    ("current", "target"),
    [(S.PENDING, S.PICKED), (S.CONFIRMED, S.PENDING), (S.SHIPPED, S.PICKED), (S.DELIVERED, S.SHIPPED), (S.CANCELED, S.CONFIRMED)],
)
def test_skipping_or_going_back_is_an_invalid_transition(current: S, target: S) -> None:
    with pytest.raises(InvalidStatusTransition):
        rules.ensure_transition("1", current, target)


def test_repeating_the_status_is_a_no_op_not_an_error() -> None:
    assert rules.ensure_transition("1", S.SHIPPED, S.SHIPPED) is False


@pytest.mark.parametrize("status", [S.SHIPPED, S.DELIVERED, S.CANCELED])
def test_only_orders_with_open_units_can_be_canceled(status: S) -> None:
    for open_status in (S.PENDING, S.CONFIRMED, S.PICKED):
        rules.ensure_cancelable("1", open_status)
    with pytest.raises(InvalidStatusTransition):
        rules.ensure_cancelable("1", status)


def _order(status: S, *lines: tuple[str, int, int]) -> Order:
    items = [OrderItem(pid, f"SKU-{pid}", qty, Decimal(1), shipped_quantity=shipped) for pid, qty, shipped in lines]
    return Order("9", "1", status, items, "BRL", "", NOW, NOW, version=4)


def test_a_cancel_cancels_exactly_what_is_open_and_counts_as_a_change() -> None:
    canceled = rules.canceled(_order(S.PICKED, ("1", 3, 0), ("2", 2, 0)), [], NOW)
    assert [(i.canceled_quantity, i.open_quantity) for i in canceled.items] == [(3, 0), (2, 0)]
    assert (canceled.status, canceled.version) == (S.CANCELED, 5)


def test_a_cancel_after_a_shipment_ships_the_order_or_delivers_it_when_every_shipment_was() -> None:
    partly = _order(S.PARTIALLY_SHIPPED, ("1", 3, 1), ("2", 2, 0))
    out = Shipment("5", "9", {"1": 1}, "", "", ShipmentState.SHIPPED, NOW)
    canceled = rules.canceled(partly, [out], NOW)
    assert [(i.shipped_quantity, i.canceled_quantity) for i in canceled.items] == [(1, 2), (0, 2)]
    assert canceled.status == S.SHIPPED
    assert rules.canceled(partly, [replace(out, state=ShipmentState.DELIVERED)], NOW).status == S.DELIVERED


def test_a_partial_shipment_leaves_the_order_partially_shipped_and_the_last_delivery_delivers_it() -> None:
    partly = rules.shipped(_order(S.CONFIRMED, ("1", 3, 0)), {"1": 2}, NOW)
    assert (partly.status, partly.open_quantity) == (S.PARTIALLY_SHIPPED, 1)
    done = rules.shipped(partly, {"1": 1}, NOW)
    first = Shipment("5", "9", {"1": 2}, "", "", ShipmentState.DELIVERED, NOW)
    second = replace(first, id="6", items={"1": 1}, state=ShipmentState.SHIPPED)
    assert rules.delivered(done, [first, second], NOW).status == S.SHIPPED
    assert rules.delivered(done, [first, replace(second, state=ShipmentState.DELIVERED)], NOW).status == S.DELIVERED
    assert rules.delivered(partly, [first], NOW).status == S.PARTIALLY_SHIPPED  # units still open


def test_update_order_status_moves_one_step_while_shipments_and_cancels_make_the_other_moves() -> None:
    assert rules.ensure_transition("1", S.PARTIALLY_SHIPPED, S.SHIPPED)
    for target in (S.PARTIALLY_SHIPPED, S.SHIPPED):
        with pytest.raises(InvalidStatusTransition):
            rules.ensure_transition("1", S.CONFIRMED, target)  # only a shipment skips PICKED
        assert target in rules.NEXT[S.CONFIRMED]
    with pytest.raises(InvalidStatusTransition):
        rules.ensure_shippable("1", S.PENDING)
    rules.ensure_cancelable("1", S.PARTIALLY_SHIPPED)


def test_a_stale_etag_is_refused_and_none_means_any_state() -> None:
    order = _order(S.PICKED, ("1", 3, 0))
    rules.ensure_etag(order, "")
    rules.ensure_etag(order, "4")
    with pytest.raises(EtagMismatch) as caught:
        rules.ensure_etag(order, "3")
    assert (caught.value.reason, caught.value.metadata["etag"]) == ("ETAG_MISMATCH", "4")


def test_shipping_takes_units_from_the_open_quantity_and_ships_the_order_when_nothing_is_left() -> None:
    shipped = rules.shipped(_order(S.PICKED, ("1", 3, 0), ("2", 2, 0)), {"1": 3, "2": 2}, NOW)  # all of it
    assert [(i.shipped_quantity, i.open_quantity) for i in shipped.items] == [(3, 0), (2, 0)]
    assert (shipped.status, shipped.version) == (S.SHIPPED, 5)


def test_a_shipment_above_the_open_quantity_or_of_a_product_not_on_the_order_names_each_line() -> None:
    with pytest.raises(ExceedsOpenQuantity) as caught:
        rules.shipped(_order(S.PICKED, ("1", 3, 1), ("2", 2, 0)), {"2": 2, "1": 3, "7": 1}, NOW)
    assert [(v.type, v.subject) for v in caught.value.violations] == [("OPEN_QUANTITY", "items[1]"), ("NOT_ON_ORDER", "items[2]")]
    assert caught.value.message == "order 9: product 1: requested 3, open 2; product 7 is not on the order"


def test_a_return_counts_its_units_on_their_lines_keeps_the_status_and_counts_as_a_change() -> None:
    delivered = _order(S.DELIVERED, ("1", 3, 3), ("2", 2, 2))
    back = rules.returned(delivered, [ReturnLine("2", 2, ReturnDisposition.SCRAP), ReturnLine("1", 1, ReturnDisposition.RESTOCK)], NOW)
    assert [(i.shipped_quantity, i.returned_quantity) for i in back.items] == [(3, 1), (2, 2)]
    assert (back.status, back.version) == (S.DELIVERED, 5)
    again = rules.returned(back, [ReturnLine("1", 2, ReturnDisposition.RESTOCK)], NOW)  # the rest of line 1
    assert again.items[0].returned_quantity == 3


def test_a_return_above_the_shipped_units_not_yet_returned_names_each_line_whatever_the_status() -> None:
    partly = _order(S.PARTIALLY_SHIPPED, ("1", 3, 1), ("2", 2, 0))
    lines = [ReturnLine(p, q, ReturnDisposition.RESTOCK) for p, q in (("1", 1), ("1", 2), ("2", 1), ("7", 1))]
    with pytest.raises(ExceedsShippedQuantity) as caught:
        rules.returned(partly, lines[1:], NOW)
    assert [(v.type, v.subject) for v in caught.value.violations] == [
        ("SHIPPED_QUANTITY", "items[0]"), ("SHIPPED_QUANTITY", "items[1]"), ("NOT_ON_ORDER", "items[2]"),
    ]
    assert caught.value.message == (
        "order 9: product 1: requested 2, shipped and not yet returned 1; product 2: requested 1, shipped and not yet returned 0; "
        "product 7 is not on the order"
    )
    assert rules.returned(partly, lines[:1], NOW).status == S.PARTIALLY_SHIPPED


def test_a_return_naming_a_product_twice_names_every_repeat() -> None:
    lines = [ReturnLine(p, 1, ReturnDisposition.SCRAP) for p in ("1", "2", "1", "1")]
    with pytest.raises(DuplicateProduct) as caught:
        rules.ensure_one_entry_per_product([line.product_id for line in lines])
    assert caught.value.reason == "DUPLICATE_PRODUCT"
    assert [(v.field, v.reason) for v in caught.value.violations] == [("items[2].product_id", "DUPLICATE_PRODUCT"), ("items[3].product_id", "DUPLICATE_PRODUCT")]
    rules.ensure_one_entry_per_product([line.product_id for line in lines[:2]])


def test_an_adjustment_may_take_on_hand_down_to_the_reserved_units_but_not_below() -> None:
    reserved = replace(product(stock=3), reserved_quantity=4)  # on hand 7
    assert rules.adjusted_on_hand(reserved, -3) == 4
    with pytest.raises(StockBelowReserved) as caught:
        rules.adjusted_on_hand(reserved, -4)
    assert caught.value.metadata == {"product_id": "1", "on_hand": "3", "reserved": "4"}
    with pytest.raises(InsufficientStock):  # below zero is refused as it always was
        rules.adjusted_on_hand(reserved, -8)


def test_updates_may_not_name_immutable_fields_or_clear_required_ones() -> None:
    rules.ensure_updatable("customer", {"phone": "", "active": False}, rules.CUSTOMER_UPDATABLE)
    with pytest.raises(InvalidArgument) as caught:
        rules.ensure_updatable("customer", {"document": "1", "name": ""}, rules.CUSTOMER_UPDATABLE)
    assert [(v.field, v.reason) for v in caught.value.violations] == [
        ("update_mask", "FIELD_NOT_UPDATABLE"), ("customer.name", "REQUIRED"),
    ]


def test_soft_delete_twice_is_not_found_and_undelete_of_a_live_row_is_refused() -> None:
    deleted = rules.soft_deleted(product(), "product", NOW)
    assert deleted.delete_time == NOW
    with pytest.raises(NotFound):
        rules.soft_deleted(deleted, "product", NOW)
    assert rules.undeleted(deleted, "product", NOW).delete_time is None
    with pytest.raises(NotDeleted):
        rules.undeleted(product(), "product", NOW)


def test_emails_are_normalised_to_lower_case() -> None:
    assert rules.email("  Ana@Example.COM ") == "ana@example.com"


def test_only_the_service_currency_is_accepted() -> None:
    rules.ensure_currency("price.currency_code", "", "BRL")
    rules.ensure_currency("price.currency_code", "BRL", "BRL")
    with pytest.raises(InvalidArgument):
        rules.ensure_currency("price.currency_code", "USD", "BRL")


def test_canceled_is_never_a_plain_transition_even_where_cancel_is_allowed() -> None:
    with pytest.raises(InvalidStatusTransition):
        rules.ensure_transition("1", S.PENDING, S.CANCELED)


@pytest.mark.parametrize(
    ("current", "call", "text"),
    [
        (S.CANCELED, lambda: rules.ensure_cancelable("7", S.CANCELED), "order 7 is already canceled"),
        (S.SHIPPED, lambda: rules.ensure_cancelable("7", S.SHIPPED), "order 7 is shipped: only orders with open units can be canceled"),
        (S.CANCELED, lambda: rules.ensure_transition("7", S.CANCELED, S.CONFIRMED), "order 7 is canceled: its status can no longer change"),
        (S.DELIVERED, lambda: rules.ensure_transition("7", S.DELIVERED, S.PENDING), "order 7 is delivered: its status can no longer change"),
        (S.PENDING, lambda: rules.ensure_transition("7", S.PENDING, S.SHIPPED), "order 7 is pending: it cannot move to shipped"),
    ],
)
def test_a_refused_transition_says_why_in_words(current: S, call: Callable[[], object], text: str) -> None:
    with pytest.raises(InvalidStatusTransition) as refused:
        call()
    assert str(refused.value) == text and refused.value.metadata["current_status"] == current.name
