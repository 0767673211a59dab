"""Product and stock use cases."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from service.domain import events, rules
from service.domain.errors import CountBelowReserved, NotFound
from service.domain.model import Caller, IdempotencyKey, MovementKind, Page, PageResult, Product, StockMovement
from service.domain.ports import ProductFilter, UnitOfWork
from service.domain.stock import StockBook
from service.usecases.keyed import once_per_key


# How many of the orders holding a product's reservations a refused count names: the first page.
RESERVING_SHOWN = 50


def create_product(
    uow: UnitOfWork,
    caller: Caller,
    sku: str,
    name: str,
    description: str,
    price: Decimal,
    currency: str,
    initial_stock: int,
) -> Product:
    now = datetime.now(UTC)
    with uow:
        product = uow.products.add(
            Product("", sku, name, description, price, currency, initial_stock, True, now, now, stock_sequence=1 if initial_stock else 0)
        )
        if initial_stock:
            # The ledger starts with the initial stock, so it always sums to the stock on hand.
            initial = StockMovement.new(product.id, MovementKind.INITIAL, initial_stock, initial_stock, "", "initial stock", caller, now)
            uow.ledger.add([initial])
            uow.events.add([events.StockEvent(initial, 1, initial_stock, 0)])
        uow.commit()
    return product


def get_product(uow: UnitOfWork, product_id: str) -> Product:
    with uow:
        return uow.products.get(product_id)


def list_products(uow: UnitOfWork, flt: ProductFilter, page: Page) -> PageResult[Product]:
    with uow:
        return uow.products.list(flt, page)


def update_product(uow: UnitOfWork, product_id: str, changes: Mapping[str, Any]) -> Product:
    rules.ensure_updatable("product", changes, rules.PRODUCT_UPDATABLE)
    with uow:
        product = replace(_lock_one(uow, product_id), **changes, update_time=datetime.now(UTC))
        uow.products.save(product)
        uow.commit()
    return product


def delete_product(uow: UnitOfWork, product_id: str) -> Product:
    with uow:
        product = rules.soft_deleted(_lock_one(uow, product_id), "product", datetime.now(UTC))
        uow.products.save(product)
        uow.commit()
    return product


def undelete_product(uow: UnitOfWork, product_id: str) -> Product:
    with uow:
        product = rules.undeleted(_lock_one(uow, product_id), "product", datetime.now(UTC))
        uow.products.save(product)
        uow.commit()
    return product


def adjust_stock(
    uow: UnitOfWork, caller: Caller, product_id: str, delta: int, reason: str, key: IdempotencyKey | None = None
) -> tuple[Product, StockMovement, bool]:
    """Returns the product, the ledger entry, and whether this replayed an earlier call with `key`.

    A replay returns the original entry with the product as it is now.
    """

    def judge(product: Product) -> tuple[MovementKind, int]:
        rules.adjusted_on_hand(product, delta)
        return MovementKind.ADJUSTMENT, delta

    return _move_one(uow, caller, product_id, reason, key, judge)


def count_stock(
    uow: UnitOfWork, caller: Caller, product_id: str, counted: int, expected_on_hand: int, reason: str,
    key: IdempotencyKey | None = None,
) -> tuple[Product, StockMovement, bool]:
    """Sets on hand to a physical count, with a COUNT ledger row of the difference; returns the
    product, the row, and whether this replayed an earlier call with `key`."""

    def judge(product: Product) -> tuple[MovementKind, int]:
        rules.ensure_count_applies(product, expected_on_hand)
        if counted < product.reserved_quantity:
            raise CountBelowReserved(product.id, counted, product.reserved_quantity, uow.orders.reserving(product.id, RESERVING_SHOWN))
        return MovementKind.COUNT, counted - product.on_hand_quantity

    return _move_one(uow, caller, product_id, reason, key, judge)


def _move_one(
    uow: UnitOfWork, caller: Caller, product_id: str, reason: str, key: IdempotencyKey | None,
    judge: Callable[[Product], tuple[MovementKind, int]],
) -> tuple[Product, StockMovement, bool]:
    """One ledger row on one locked product, its kind and delta decided by `judge`, stored with `key`:
    a key already stored replays its row."""

    def run() -> tuple[Product, StockMovement, bool]:
        product = _lock_one(uow, product_id)
        kind, delta = judge(product)
        now = datetime.now(UTC)
        book = StockBook({product.id: product})
        movement = uow.ledger.add_one(book.move(product.id, kind, delta, "", reason, caller, now), key)
        uow.products.set_stock(book.stock(), now, book.sequences())
        uow.events.add(book.events)
        uow.commit()
        return _restocked(product, book, now), movement, False

    # A replay answers the stored row with the product as it is now.
    return once_per_key(uow, key, lambda k: uow.ledger.find_by_key(k), lambda row: (uow.products.get(row.product_id), row, True), run)


def list_stock_movements(uow: UnitOfWork, product_id: str, page: Page) -> PageResult[StockMovement]:
    with uow:
        uow.products.get(product_id)  # NOT_FOUND for an unknown product, rather than an empty ledger
        return uow.ledger.list(product_id, page)


def _restocked(product: Product, book: StockBook, now: datetime) -> Product:
    """The product with the figures the book moved it to."""
    stock = book.stock()[product.id]
    return replace(
        product, stock_quantity=stock.available, reserved_quantity=stock.reserved, update_time=now,
        stock_sequence=book.sequences()[product.id],
    )


def _lock_one(uow: UnitOfWork, product_id: str) -> Product:
    locked = uow.products.lock([product_id])
    if product_id not in locked:
        raise NotFound("product", product_id)
    return locked[product_id]

