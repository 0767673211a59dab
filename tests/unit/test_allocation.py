"""The batch allocation rule: each order judged alone, in arrival order, against what is left."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from service.domain.allocation import NewOrder, Placed, SameKey, allocate
from service.domain.errors import IdempotencyKeyReused, InsufficientStock, NotFound, NotOrderable, ReferenceTaken
from service.domain.model import Caller, Customer, IdempotencyKey, OrderLine, Product

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMERS = {"1": Customer("1", "c", "d", "e", "", "", True, NOW, NOW), "2": Customer("2", "c", "d", "e", "", "", True, NOW, NOW, NOW)}


def _product(pid: str, stock: int, active: bool = True) -> Product:
    return Product(pid, f"SKU-{pid}", "p", "", Decimal("2.50"), "BRL", stock, active, NOW, NOW)


def _order(customer: str, *lines: tuple[str, int], key: IdempotencyKey | None = None, reference: str = "") -> NewOrder:
    return NewOrder(Caller("a", "r"), customer, [OrderLine(p, q) for p, q in lines], "", "BRL", key, reference)


def test_orders_take_stock_in_arrival_order_and_a_short_one_reports_what_was_left() -> None:
    products = {"10": _product("10", 5), "11": _product("11", 1)}
    decisions, stock = allocate(
        [_order("1", ("10", 2)), _order("1", ("10", 4), ("11", 2)), _order("1", ("10", 3), ("11", 1))], CUSTOMERS, products, {}
    )
    first, short, last = decisions
    assert isinstance(first, Placed) and first.after == {"10": 3}
    assert isinstance(short, InsufficientStock)
    assert [(s.product_id, s.requested, s.available) for s in short.shortages] == [("10", 4, 3), ("11", 2, 1)]
    assert isinstance(last, Placed) and last.after == {"10": 0, "11": 0}
    assert stock == {"10": 0, "11": 0}
    assert products["10"].stock_quantity == 5  # the locked rows are not mutated


def test_refusals_are_the_single_order_path_s_in_its_order() -> None:
    products = {"10": _product("10", 5), "12": _product("12", 5, active=False)}
    decisions, stock = allocate(
        [_order("9", ("10", 1)), _order("2", ("10", 1)), _order("1", ("12", 1)), _order("1", ("10", 1), ("13", 1))], CUSTOMERS, products, {}
    )
    missing_customer, deleted, inactive, missing_product = decisions
    assert isinstance(missing_customer, NotFound) and missing_customer.resource == "customer"
    assert isinstance(deleted, NotOrderable) and deleted.reason == "CUSTOMER_DELETED"
    assert isinstance(inactive, NotOrderable) and inactive.reason == "PRODUCT_INACTIVE"
    assert isinstance(missing_product, NotFound) and missing_product.resource_id == "13"
    assert stock == {"10": 5, "12": 5}


def test_a_key_held_by_a_placed_order_of_the_batch_replays_it_or_is_reused_by_another_request() -> None:
    key = IdempotencyKey("p", "k", "fp")
    products = {"10": _product("10", 1)}
    decisions, stock = allocate(
        [_order("1", ("10", 1), key=key), _order("1", ("10", 1), key=key), _order("1", ("10", 1), key=IdempotencyKey("p", "k", "other"))],
        CUSTOMERS, products, {},
    )
    assert isinstance(decisions[0], Placed) and decisions[1] == SameKey(0) and isinstance(decisions[2], IdempotencyKeyReused)
    assert stock == {"10": 0}


def test_a_key_whose_first_order_was_refused_is_judged_again_for_the_next() -> None:
    key = IdempotencyKey("p", "k", "fp")
    decisions, _ = allocate([_order("1", ("10", 2), key=key), _order("1", ("10", 1), key=key)], CUSTOMERS, {"10": _product("10", 1)}, {})
    assert isinstance(decisions[0], InsufficientStock) and isinstance(decisions[1], Placed)


def test_a_reference_the_customer_already_used_is_refused_naming_the_order_after_the_customer_checks() -> None:
    products = {"10": _product("10", 5)}
    taken = {("1", "PO-7"): "555"}
    batch = [_order("1", ("10", 1), reference="PO-7"), _order("2", ("10", 1), reference="PO-7"), _order("1", ("10", 1), reference="PO-8")]
    decisions, stock = allocate(batch, CUSTOMERS, products, taken)
    refused, deleted, placed = decisions
    assert isinstance(refused, ReferenceTaken) and (refused.order_id, refused.metadata["external_reference"]) == ("555", "PO-7")
    assert isinstance(deleted, NotOrderable) and deleted.reason == "CUSTOMER_DELETED"
    assert isinstance(placed, Placed) and stock == {"10": 4}
