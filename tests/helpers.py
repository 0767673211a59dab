"""Test helpers: unique ids so tests never collide, typed stubs, and rich-error decoding."""

from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from service._gen.erp.orders.v1 import customer_pb2, customer_pb2_grpc, order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc
from google.type import money_pb2
from sqlalchemy import Engine, text

from service.grpc import tokens
from service.usecases import group_commit
from service.usecases.combiner import Combiner
from service.domain import documents
from service.grpc.methods import ALL_ROLES


T = TypeVar("T")
R = TypeVar("R")
TEST_SECRET = "test-secret-of-thirty-two-bytes!!"


def token(sub: str, roles: Iterable[str] = ALL_ROLES, ttl_s: int = 600, secret: str = TEST_SECRET) -> str:
    return tokens.mint(secret, sub, roles, ttl_s)


class _AddMetadata(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(details._replace(metadata=[*(details.metadata or ()), *self._pairs]), request)


@contextmanager
def authorized_channel(port: int, bearer: str | None) -> Iterator[grpc.Channel]:
    """A channel to the local server whose every call sends `authorization: Bearer <bearer>`."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as raw:
        pairs = [("authorization", f"Bearer {bearer}")] if bearer else []
        yield grpc.intercept_channel(raw, _AddMetadata(pairs))


def product_env(**settings: str) -> dict[str, str]:
    """The environment for an erp-orders child process: this one's without any ORDERS_* variable,
    plus `settings`. The product refuses ORDERS_* settings it does not know, and the tests' own
    (ORDERS_TEST_MYSQL_URL, set by CI) are not the product's."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}, **settings}


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:10].upper()


def cpf() -> str:
    """A random CPF with valid check digits."""
    body = "".join(random.choices("0123456789", k=9))
    return body + documents.check_digits(body)


def cnpj() -> str:
    """A random CNPJ with valid check digits."""
    body = "".join(random.choices("0123456789", k=12))
    return body + documents.check_digits(body)


@dataclass
class Stubs:
    customers: customer_pb2_grpc.CustomerServiceStub
    products: product_pb2_grpc.ProductServiceStub
    orders: order_pb2_grpc.OrderServiceStub

    @classmethod
    def on(cls, channel: grpc.Channel) -> Stubs:
        return cls(
            customer_pb2_grpc.CustomerServiceStub(channel),
            product_pb2_grpc.ProductServiceStub(channel),
            order_pb2_grpc.OrderServiceStub(channel),
        )

    def customer(self, **overrides: object) -> customer_pb2.Customer:
        fields: dict[str, object] = {"name": "Test Buyer", "document": cpf(), "email": f"{unique()}@example.com"}
        fields.update(overrides)
        return self.customers.CreateCustomer(customer_pb2.CreateCustomerRequest(**fields))

    def product(self, stock: int = 10, price: str = "10.00", **overrides: object) -> product_pb2.Product:
        units, cents = price.split(".")
        fields: dict[str, object] = {
            "sku": unique("SKU-"), "name": "Widget", "initial_stock": stock,
            "price": money_pb2.Money(currency_code="BRL", units=int(units), nanos=int(cents) * 10_000_000),
        }
        fields.update(overrides)
        return self.products.CreateProduct(product_pb2.CreateProductRequest(**fields))

    def order(self, customer_id: str, *lines: tuple[str, int]) -> order_pb2.Order:
        items = [order_pb2.CreateOrderRequest.Item(product_id=p, quantity=q) for p, q in lines]
        return self.orders.CreateOrder(order_pb2.CreateOrderRequest(customer_id=customer_id, items=items))

    def race(self, customer_id: str, product_id: str, buyers: int) -> Counter[str]:
        """`buyers` concurrent orders of one unit each; how many got each outcome."""
        with ThreadPoolExecutor(buyers) as pool:
            return Counter(pool.map(lambda _: outcome(lambda: self.order(customer_id, (product_id, 1))), range(buyers)))

    def all_orders(self, customer_id: str) -> list[order_pb2.Order]:
        """Every order of the customer, page after page."""
        request, orders = order_pb2.ListOrdersRequest(customer_id=customer_id, page_size=1000), []
        while True:
            page = self.orders.ListOrders(request)
            orders.extend(page.orders)
            if not page.next_page_token:
                return orders
            request.page_token = page.next_page_token

    def stock(self, product_id: str) -> int:
        return self.products.GetProduct(product_pb2.GetProductRequest(id=product_id)).stock_quantity

    def movements(self, product_id: str) -> list[product_pb2.StockMovement]:
        req = product_pb2.ListStockMovementsRequest(product_id=product_id, page_size=1000)
        return list(self.products.ListStockMovements(req).movements)

    def history(self, order_id: str) -> list[order_pb2.OrderStatusChange]:
        req = order_pb2.ListOrderStatusHistoryRequest(order_id=order_id, page_size=1000)
        return list(self.orders.ListOrderStatusHistory(req).changes)


def outcome(call: Callable[[], object]) -> str:
    """"OK", or the failed call's ErrorInfo reason (its code name if it has none)."""
    try:
        call()
        return "OK"
    except grpc.RpcError as error:
        return rich(error).reason or error.code().name  # type: ignore[attr-defined]


@dataclass
class RichError:
    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str]
    field_violations: dict[str, str]
    precondition_subjects: list[str]
    has_retry_info: bool


def rich(error: grpc.RpcError) -> RichError:
    """Decodes google.rpc details from a failed call."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    reason, metadata, fields, subjects, retry = "", {}, {}, [], False
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = {v.field: v.reason for v in bad.field_violations}
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            subjects = [v.subject for v in failure.violations]
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = True
    return RichError(error.code(), error.details(), reason, metadata, fields, subjects, retry)  # type: ignore[attr-defined]


def lock_waits(engine: Engine) -> int:
    """Transactions of this test database that are waiting for a row lock right now."""
    query = text(
        "SELECT COUNT(*) FROM information_schema.innodb_trx t JOIN information_schema.processlist p "
        "ON p.id = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()"
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def until(condition: Callable[[], object], what: str, seconds: float = 30, every: float = 0.1) -> None:
    """Polls a real condition, bounded in time. `every` stays coarse: polling InnoDB's lock tables
    much faster than this was seen to stall the very transaction being watched."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(every)


def record_calls(engine: Engine, monkeypatch: pytest.MonkeyPatch, queries: bool = False) -> list[str]:
    """What the one DBAPI connection of `engine`'s pool sends from now on: COMMIT, ROLLBACK and PING,
    and with `queries` the text of every query (a multi-statement batch is one query)."""
    sent: list[str] = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
    real = type(raw)

    class Spy(real):  # type: ignore[misc, valid-type]
        def query(self, sql: bytes) -> None:
            if queries:
                sent.append(sql.decode(errors="replace"))  # event payloads are binary
            super().query(sql)

        def commit(self) -> None:
            sent.append("COMMIT")
            super().commit()

        def rollback(self) -> None:
            sent.append("ROLLBACK")
            super().rollback()

        def ping(self, *args: object) -> None:
            sent.append("PING")
            super().ping(*args)

    monkeypatch.setattr(raw, "__class__", Spy)
    return sent


class HeldCombiner(Combiner[T, R]):
    """A combiner a test can hold, so that the calls it wants meet in one batch: after `hold()` calls
    queue as they do behind a busy writer; `let_go(n)` waits until `n` are queued and hands them on as
    a writer that finishes does. Production's Combiner has no hook for it and pays nothing."""

    def hold(self) -> None:
        with self._lock:
            assert self._free > 0, "a writer is busy"
            self._free -= 1  # as if a writer were running a batch

    def let_go(self, n: int) -> None:
        until(lambda: self.waiting() >= n, f"{n} calls are queued", every=0.005)
        with self._lock:
            self._hand_on()


@contextmanager
def held_combiners() -> Iterator[list[HeldCombiner[Any, Any]]]:
    """CreateOrder placers (service/usecases/group_commit.py) built meanwhile get a HeldCombiner, listed here."""
    made: list[HeldCombiner[Any, Any]] = []

    def build(*args: Any, **kwargs: Any) -> HeldCombiner[Any, Any]:
        made.append(HeldCombiner(*args, **kwargs))
        return made[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(group_commit, "Combiner", build)
        yield made


def retry_while_key_in_use(call: Callable[[], T], bound_s: float = 60) -> tuple[T, float]:
    """Retries `call` as a client does while its idempotency key is IDEMPOTENCY_KEY_IN_USE (or the
    server it reached is UNAVAILABLE); its result and how long until it went through."""
    started = time.monotonic()
    while True:
        try:
            return call(), time.monotonic() - started
        except grpc.RpcError as error:
            retryable = error.code() == grpc.StatusCode.UNAVAILABLE or rich(error).reason == "IDEMPOTENCY_KEY_IN_USE"  # type: ignore[attr-defined]
            assert retryable, error
            assert time.monotonic() - started < bound_s, "the key stayed in use"
            time.sleep(0.2)  # a client's retry backoff
