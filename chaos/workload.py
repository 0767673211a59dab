"""The clients: a seeded random mix of calls, each mutating one with an idempotency key, retried as a real client would.

A call that ends indeterminate (deadline, UNAVAILABLE, reset) or was turned away before running
(ABORTED, RESOURCE_EXHAUSTED) is retried with the same key and request until RETRY_BUDGET_S runs out.
"""

from __future__ import annotations

import base64
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.checker import definite
from chaos.history import FAIL, INFO, OK, Attempt, HistoryWriter, Operation
from chaos.transports import CallError, Transport
from service.domain.amendments import AMENDABLE
from service.domain.model import OrderStatus, ReturnDisposition
from service.domain.rules import RETURNABLE, SHIPPABLE

RETRY_BUDGET_S = 60.0  # longer than the service's idempotency lease (chaos/run.py)
# The call may have run: the outcome is unknown until a retry with the same key tells.
INDETERMINATE = frozenset({"DEADLINE_EXCEEDED", "UNAVAILABLE", "CANCELLED", "UNKNOWN", "INTERNAL"})
_WEIGHTS = {
    "create": 36, "replay": 5, "cancel": 10, "status": 12, "adjust": 9, "read": 12, "ship": 10, "deliver": 3, "count": 3,
    "return": 4, "forged_watch": 2, "amend": 8,
}
_NEXT = {OrderStatus.PENDING: OrderStatus.CONFIRMED, OrderStatus.CONFIRMED: OrderStatus.PICKED,
         OrderStatus.PICKED: OrderStatus.SHIPPED, OrderStatus.SHIPPED: OrderStatus.DELIVERED}


@dataclass
class Shared:
    """What the clients learned together: the catalogue, and the orders and creates acknowledged so far."""

    customers: list[str]
    products: list[str]
    orders: dict[str, OrderStatus] = field(default_factory=dict)  # last acknowledged status
    creates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (key, request) acknowledged
    lines: dict[str, list[list[Any]]] = field(default_factory=dict)  # order id -> its requested lines
    shipments: list[tuple[str, str]] = field(default_factory=list)  # (order id, shipment id) acknowledged
    etags: dict[str, str] = field(default_factory=dict)  # order id -> its etag as last read or amended
    lock: threading.Lock = field(default_factory=threading.Lock)

    def learn(self, op: Operation) -> None:
        if op.type != OK:
            return
        with self.lock:
            if op.f == "create":
                self.orders.setdefault(op.response["order_id"], OrderStatus.PENDING)
                self.creates.append((op.key, op.request))
                self.lines.setdefault(op.response["order_id"], list(op.request["items"]))
            elif op.f == "ship":
                self.shipments.append((op.request["order_id"], op.response["shipment_id"]))
            elif op.f in ("cancel", "status", "read"):
                self.orders[op.request["order_id"]] = OrderStatus(op.response["status"])
                if op.f == "read":
                    self.etags[op.request["order_id"]] = op.response["etag"]
            elif op.f == "amend" and not op.request["validate_only"]:
                self.orders[op.request["order_id"]] = OrderStatus(op.response["status"])
                self.lines[op.request["order_id"]] = op.response["items"]
                self.etags[op.request["order_id"]] = op.response["etag"]


class Client:
    def __init__(self, process: int, transport: Transport, shared: Shared, history: HistoryWriter, seed: int) -> None:
        self.process, self.transport, self.shared, self.history = process, transport, shared, history
        self._rng = random.Random(seed * 1000 + process)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.shared.learn(self.one())
        finally:
            self.transport.close()

    def one(self) -> Operation:
        f = self._rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()))[0]
        f, key, request, call = self._plan(f)
        start = self.history.invoke(self.process, f, key, request, self.transport.name)
        op = self._attempts(f, key, request, call, start)
        self.history.complete(op)
        return op

    def _plan(self, f: str) -> tuple[str, str, dict[str, Any], Callable[[], dict[str, Any]]]:
        """(f, key, request, the call) for the chosen kind; a create while there is nothing to act on yet."""
        t, rng, key = self.transport, self._rng, f"chaos-{uuid.UUID(int=self._rng.getrandbits(128))}"
        with self.shared.lock:
            known = list(self.shared.orders.items())
            creates = list(self.shared.creates)
            shipments = list(self.shared.shipments)
        if f == "forged_watch":
            forged = forged_resume_token(rng)
            return f, "", {"resume_token": forged}, lambda: t.watch(forged)
        if f in ("ship", "deliver", "count", "return"):
            planned = self._plan_fulfilment(f, key, known, shipments)
            if planned is not None:
                return planned
        if f == "amend" and known:
            return self._plan_amendment(key, known)
        if f == "adjust":
            product_id, delta = rng.choice(self.shared.products), rng.choice([-3, -2, -1, 1, 2, 3, 4, 5, 6])
            return f, key, {"product_id": product_id, "delta": delta}, lambda: t.adjust(key, product_id, delta)
        if f in ("cancel", "status", "read") and known:
            order_id, status = rng.choice(known)
            if f == "cancel":
                return f, key, {"order_id": order_id}, lambda: t.cancel(key, order_id)
            if f == "read":
                return f, "", {"order_id": order_id}, lambda: t.read(order_id)
            target = _NEXT.get(status, OrderStatus.DELIVERED)
            return f, key, {"order_id": order_id, "status": int(target)}, lambda: t.status(key, order_id, target)
        if f == "replay" and creates:
            key, request = rng.choice(creates)  # a client re-sending a request it already had an answer for
        else:
            lines = rng.sample(self.shared.products, rng.randint(1, 3))
            request = {"customer_id": rng.choice(self.shared.customers), "items": [[p, rng.randint(1, 3)] for p in lines]}
        customer_id, items = str(request["customer_id"]), list(request["items"])
        return "create", key, request, lambda: t.create(key, customer_id, items)

    def _plan_fulfilment(
        self, f: str, key: str, known: list[tuple[str, OrderStatus]], shipments: list[tuple[str, str]]
    ) -> tuple[str, str, dict[str, Any], Callable[[], dict[str, Any]]] | None:
        """A shipment of part or all of a line, a return of some of a line (restocked or scrapped), a
        delivery or a count; None when there is nothing to act on."""
        t, rng = self.transport, self._rng
        if f == "ship" and known:
            shippable = [oid for oid, status in known if status in SHIPPABLE]  # as last acknowledged
            order_id = rng.choice(shippable or [oid for oid, _ in known])
            with self.shared.lock:
                product_id, quantity = rng.choice(self.shared.lines[order_id])
            items = [[product_id, rng.randint(1, int(quantity))]]  # partial or whole
            return f, key, {"order_id": order_id, "items": items}, lambda: t.ship(key, order_id, items)
        if f == "return" and known:
            returnable = [oid for oid, status in known if status in RETURNABLE]  # as last acknowledged
            order_id = rng.choice(returnable or [oid for oid, _ in known])
            with self.shared.lock:
                product_id, quantity = rng.choice(self.shared.lines[order_id])
            items = [[product_id, rng.randint(1, int(quantity)), int(rng.choice(list(ReturnDisposition)))]]
            return f, key, {"order_id": order_id, "items": items}, lambda: t.take_back(key, order_id, items)
        if f == "deliver" and shipments:
            order_id, shipment_id = rng.choice(shipments)
            return f, key, {"order_id": order_id, "shipment_id": shipment_id}, lambda: t.deliver(key, order_id, shipment_id)
        if f == "count":
            product_id = rng.choice(self.shared.products)
            try:
                expected = t.on_hand(product_id)  # read once: a retry must send the same request
            except CallError:
                return None
            counted = max(0, expected + rng.choice([-2, -1, 0, 1, 2]))
            request = {"product_id": product_id, "counted": counted, "expected": expected}
            return f, key, request, lambda: t.count(key, product_id, counted, expected)
        return None

    def _plan_amendment(self, key: str, known: list[tuple[str, OrderStatus]]) -> tuple[str, str, dict[str, Any], Callable[[], dict[str, Any]]]:
        """New quantities, up or down (0 removes), for one or two lines of an order last seen amendable,
        a product not on it among them at times; now and then only validated; half of them against the
        etag last read or amended (often stale by then: ABORTED ETAG_MISMATCH, which must change nothing)."""
        t, rng = self.transport, self._rng
        amendable = [oid for oid, status in known if status in AMENDABLE]
        order_id = rng.choice(amendable or [oid for oid, _ in known])
        with self.shared.lock:
            on_order = [str(pid) for pid, _ in self.shared.lines[order_id]]
            etag = self.shared.etags.get(order_id, "") if rng.random() < 0.5 else ""
        products = list(dict.fromkeys([rng.choice(on_order), *rng.sample(self.shared.products, 1)]))
        items = [[pid, rng.randint(0, 4)] for pid in products[: rng.randint(1, len(products))]]
        validate_only = rng.random() < 0.2
        request = {"order_id": order_id, "items": items, "validate_only": validate_only, "etag": etag}
        return "amend", key, request, lambda: t.amend(key, order_id, items, validate_only, etag)

    def _attempts(self, f: str, key: str, request: dict[str, Any], call: Callable[[], dict[str, Any]], start: float) -> Operation:
        attempts: list[Attempt] = []
        backoff = 0.05
        while True:
            try:
                response = call()
                attempts.append(Attempt(OK))
                return self._done(f, key, request, OK, start, attempts, response)
            except CallError as error:
                indeterminate = error.code in INDETERMINATE
                attempts.append(Attempt(INFO if indeterminate else FAIL, error.code, error.reason))
                if definite(error.code, error.reason):
                    return self._done(f, key, request, self._refused(f, attempts), start, attempts, {})
            if self.history.now() - start > RETRY_BUDGET_S:
                outcome = INFO if any(a.outcome == INFO for a in attempts) else FAIL
                return self._done(f, key, request, outcome, start, attempts, {})
            time.sleep(self._rng.uniform(0, backoff))  # a client's full-jitter backoff between retries
            backoff = min(backoff * 2, 1.0)

    @staticmethod
    def _refused(f: str, attempts: list[Attempt]) -> str:
        # A repeated cancel or move is refused by the state machine: after an indeterminate attempt,
        # that refusal does not say whether the first one took effect.
        if f in ("cancel", "status") and any(a.outcome == INFO for a in attempts):
            return INFO
        return FAIL

    def _done(self, f: str, key: str, request: dict[str, Any], type_: str, start: float, attempts: list[Attempt], response: dict[str, Any]) -> Operation:
        return Operation(self.process, f, key, request, type_, start, self.history.now(), response, tuple(attempts), self.transport.name)


def forged_resume_token(rng: random.Random) -> str:
    """A resume token the service never issued: the unsigned shapes it once accepted (a replay of the
    whole outbox from 0, a negative or huge position, a position too long for any integer), or noise."""
    now = int(time.time() * 1_000_000)
    shapes = [f"0.{now}", f"-{rng.randint(1, 10**6)}.{now}", f"{2**70}.{now}", "1." + "9" * 90, rng.randbytes(25).hex()]
    raw = rng.choice(shapes).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
