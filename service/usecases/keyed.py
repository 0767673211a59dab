"""Mutations whose idempotency key is stored on the row they write (the database backstop)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from service.domain import rules
from service.domain.errors import FailedPrecondition, Stale
from service.domain.model import IdempotencyKey
from service.domain.ports import UnitOfWork

R = TypeVar("R")
T = TypeVar("T")


def once_per_key(
    uow: UnitOfWork, key: IdempotencyKey | None, find: Callable[[IdempotencyKey], tuple[T, str] | None],
    replay: Callable[[T], R], run: Callable[[], R],
) -> R:
    """`run` in one transaction, unless `find` has the row stored with the call's key: then the answer
    is `replay` of that row, once its request fingerprint matches (else IDEMPOTENCY_KEY_REUSED).
    Both run inside the unit of work's transaction, where its repositories exist, so callers pass
    lambdas that reach them through the unit of work.

    A refusal is looked up once more in a new transaction: the first attempt of this call, still
    running when this retry read the key, may have stored it since, and changed the state that
    refused the retry. Its stored result is then the answer.
    """

    def replayed() -> R | None:
        if key is None or (found := find(key)) is None:
            return None
        rules.ensure_same_request(found[1], key)
        return replay(found[0])

    try:
        with uow:
            answer = replayed()
            return answer if answer is not None else run()
    except (FailedPrecondition, Stale):
        with uow:
            answer = replayed()
        if answer is not None:
            return answer
        raise
