"""Mutations whose idempotency key is stored on the row they write (the database backstop)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from service.domain.errors import FailedPrecondition, Stale
from service.domain.ports import UnitOfWork

R = TypeVar("R")


def once_per_key(uow: UnitOfWork, replayed: Callable[[], R | None], run: Callable[[], R]) -> R:
    """`run` in one transaction, unless `replayed` finds the result stored with the call's key.

    A refusal is looked up once more in a new transaction: the first attempt of this call, still
    running when this retry read the key, may have stored it since, and changed the state that
    refused the retry. Its stored result is then the answer.
    """
    try:
        with uow:
            found = replayed()
            return found if found is not None else run()
    except (FailedPrecondition, Stale):
        with uow:
            found = replayed()
        if found is not None:
            return found
        raise
