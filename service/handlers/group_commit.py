"""CreateOrder through the combiner: concurrent orders of this process share one transaction.

`OrderPlacer` is what the servicer calls. With a batch cap of 1 it is the single-order path and
nothing else. Otherwise each call goes through the process's Combiner (service/combiner.py):

- a batch of one order runs create_order, the single-order path, with its retries;
- a larger batch runs create_orders, one transaction for all;
- a batch whose transaction fails as a whole, for a reason no single order explains (a deadlock,
  a lock wait timeout, a taken idempotency key or id, anything unexpected), was rolled back
  entirely; each of its callers then runs its own order alone on the single-order path, on its own
  thread, so each gets its own answer;
- a lost connection (StorageUnavailable) is every caller's answer: nothing of the batch was
  committed, and a retry with the same key makes exactly one order.

A caller is answered only after the COMMIT of the transaction that wrote its order has returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from service import metrics
from service.combiner import Combiner
from service.domain import rules
from service.domain.allocation import NewOrder
from service.domain.errors import KeyTaken, LockContention, OrdersError, StorageUnavailable
from service.domain.model import Order
from service.domain.ports import UnitOfWork
from service.handlers import orders
from service.handlers.runner import Runner


class _Alone:
    """This order is to run alone, on the single-order path."""


class _Refused:
    """The batch refused this order; its caller still looks its key up, as create_order does."""

    def __init__(self, refusal: OrdersError) -> None:
        self.refusal = refusal


_ALONE: Final = _Alone()
Outcome = tuple[Order, bool] | OrdersError | _Refused | _Alone
Gate = Callable[[Combiner[NewOrder, Outcome]], None]


def _fallback_reason(error: BaseException) -> str:
    if isinstance(error, KeyTaken):
        return "key_taken"
    return "lock_contention" if isinstance(error, LockContention) else "unexpected"


class OrderPlacer:
    def __init__(
        self, run: Runner, uow_factory: Callable[[], UnitOfWork], max_orders: int, max_lines: int, writers: int,
        gate: Gate | None = None,
    ) -> None:
        self._run = run
        self._uow_factory = uow_factory
        self.combiner: Combiner[NewOrder, Outcome] | None = None
        if max_orders > 1:
            self.combiner = Combiner(self._batch, max_orders, max_lines, lambda o: len(o.lines), writers, gate)

    def __call__(self, order: NewOrder) -> tuple[Order, bool]:
        """The order and whether it replays an earlier call with its key, as create_order answers."""
        order = NewOrder(order.caller, order.customer_id, rules.merge_lines(order.lines), order.note, order.currency, order.key)
        if self.combiner is None:
            return self._alone(order)
        outcome = self.combiner.submit(order)
        if isinstance(outcome, _Alone):
            return self._alone(order)
        if isinstance(outcome, _Refused):
            if order.key is None:
                raise outcome.refusal
            return self._run(orders.replay, order.key, outcome.refusal)
        if isinstance(outcome, OrdersError):
            raise outcome
        return outcome

    def _alone(self, order: NewOrder) -> tuple[Order, bool]:
        return self._run(orders.create_order, order.caller, order.customer_id, order.lines, order.note, order.currency, order.key)

    def _batch(self, batch: list[NewOrder]) -> list[Outcome]:
        metrics.ORDER_BATCH_SIZE.observe(len(batch))
        if len(batch) == 1:
            # The writer's own call (a batch's first is always its writer's): today's path and latency.
            try:
                return [self._alone(batch[0])]
            except OrdersError as error:
                return [error]
        try:
            outcomes = orders.create_orders(self._uow_factory(), batch)
        except StorageUnavailable:
            return [StorageUnavailable() for _ in batch]  # one each: an exception is raised in one thread
        except Exception as error:  # noqa: BLE001 - whatever failed the batch, each order gets its own answer
            metrics.ORDER_BATCH_FALLBACKS.labels(_fallback_reason(error)).inc()
            return [_ALONE] * len(batch)
        return [_Refused(o) if isinstance(o, orders.REFUSALS) else o for o in outcomes]
