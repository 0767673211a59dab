"""CreateOrder through the combiner: concurrent orders of this process share one transaction.

`OrderPlacer` is what the servicer calls. Every order takes one path, orders.create_orders (a
single order is a batch of one), and every caller's answer is settled the same way (orders.settle):
- with a batch cap of 1 (no combiner) each order runs alone: orders.create_order, with its retries;
- otherwise each call goes through the process's Combiner (service/usecases/combiner.py); a batch of one
  runs alone in the same way, on its writer's thread; a larger batch is one transaction for all,
  and each caller settles its own outcome (a refusal its key explains replays the stored order);
- a batch whose transaction fails as a whole, for a reason no single order explains (a deadlock,
  a lock wait timeout, a taken idempotency key or id, anything unexpected), was rolled back
  entirely; each of its callers then runs its own order alone, on its own thread, so each gets its
  own answer;
- a lost connection (StorageUnavailable) is every caller's answer: nothing of the batch was
  committed, and a retry with the same key makes exactly one order.

A caller is answered only after the COMMIT of the transaction that wrote its order has returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from service import metrics
from service.usecases.combiner import Combiner
from service.domain.allocation import NewOrder
from service.domain.errors import KeyTaken, LockContention, OrdersError, StorageUnavailable
from service.domain.model import Order
from service.domain.ports import UnitOfWork
from service.usecases import orders
from service.usecases.runner import Runner


class _Alone:
    """The batch failed as a whole: this order is to run alone, on its caller's thread."""


_ALONE: Final = _Alone()
BatchOutcome = orders.OrderOutcome | _Alone  # what a batch answers each of its callers


def _fallback_reason(error: BaseException) -> str:
    if isinstance(error, KeyTaken):
        return "key_taken"
    return "lock_contention" if isinstance(error, LockContention) else "unexpected"


class OrderPlacer:
    def __init__(
        self, run: Runner, uow_factory: Callable[[], UnitOfWork], max_orders: int, max_lines: int, writers: int
    ) -> None:
        self._run = run
        self._uow_factory = uow_factory
        self.combiner: Combiner[NewOrder, BatchOutcome] | None = None
        if max_orders > 1:
            self.combiner = Combiner(self._batch, max_orders, max_lines, lambda o: len(o.lines), writers)

    def __call__(self, order: NewOrder) -> tuple[Order, bool]:
        """The order and whether it replays an earlier call with its key."""
        outcome = _ALONE if self.combiner is None else self.combiner.submit(order)
        if isinstance(outcome, _Alone):
            return self._run(orders.create_order, order)
        if isinstance(outcome, OrdersError):
            return self._run(orders.settle, order.key, outcome)
        return outcome

    def _batch(self, batch: list[NewOrder]) -> list[BatchOutcome]:
        metrics.ORDER_BATCH_SIZE.observe(len(batch))
        if len(batch) == 1:
            # The writer's own call (a batch's first is always its writer's): alone, with its retries,
            # while it holds the writer; what it raises reaches its caller through the combiner.
            return [self._run(orders.create_order, batch[0])]
        try:
            return list(orders.create_orders(self._uow_factory(), batch))
        except StorageUnavailable:
            return [StorageUnavailable() for _ in batch]  # one each: an exception is raised in one thread
        except Exception as error:  # noqa: BLE001 - whatever failed the batch, each order gets its own answer
            metrics.ORDER_BATCH_FALLBACKS.labels(_fallback_reason(error)).inc()
            return [_ALONE] * len(batch)
