"""What storage reports as it works, to whoever runs it: the service passes its metrics in
(service/runtime/bootstrap.py), so storage imports nothing of the service layer."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass


def _ignore(kind: str) -> None:
    del kind


@dataclass(frozen=True)
class StorageTelemetry:
    # A transaction the database aborted on a lock or by KILL QUERY, by kind: deadlock,
    # lock_wait_timeout, interrupted, busy (SQLite).
    lock_error: Callable[[str], None] = _ignore
    # A committed stock-ledger entry, by kind (its name in lower case).
    stock_movement: Callable[[str], None] = _ignore
    # Held while a unit of work waits for a pooled connection.
    pool_wait: Callable[[], AbstractContextManager[object]] = nullcontext


SILENT = StorageTelemetry()
