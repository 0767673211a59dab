"""Runs a use case with a fresh unit of work, re-running it on lock contention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from service.domain.ports import UnitOfWork
from service.usecases.retry import RetryPolicy, with_retry

P = ParamSpec("P")
T = TypeVar("T")


class Runner:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        policy: RetryPolicy,
        on_retry: Callable[[], None] | None = None,
        expired: Callable[[], bool] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._policy = policy
        self._on_retry = on_retry
        self._expired = expired  # whether the current caller's deadline has passed

    def __call__(self, use_case: Callable[Concatenate[UnitOfWork, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        run = lambda: use_case(self._uow_factory(), *args, **kwargs)  # noqa: E731
        return with_retry(self._policy, run, self._on_retry, self._expired)
