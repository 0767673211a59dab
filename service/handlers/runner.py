"""Runs a use case with a fresh unit of work, re-running it on lock contention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from service.domain.ports import UnitOfWork
from service.handlers.retry import RetryPolicy, with_retry

P = ParamSpec("P")
T = TypeVar("T")


class Runner:
    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], policy: RetryPolicy, on_retry: Callable[[], None] | None = None
    ) -> None:
        self._uow_factory = uow_factory
        self._policy = policy
        self._on_retry = on_retry

    def __call__(self, use_case: Callable[Concatenate[UnitOfWork, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        return with_retry(self._policy, lambda: use_case(self._uow_factory(), *args, **kwargs), self._on_retry)
