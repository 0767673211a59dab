"""The composition root: the one place that builds the concrete adapters and wires them together."""

from __future__ import annotations

from sqlalchemy import Engine

from service import convert, metrics
from storage.telemetry import StorageTelemetry
from storage.uow import SqlUnitOfWork

# What storage reports, as the service's metrics.
STORAGE_TELEMETRY = StorageTelemetry(
    lock_error=lambda kind: metrics.DB_LOCK_ERRORS.labels(kind).inc(),
    stock_movement=lambda kind: metrics.STOCK_MOVEMENTS.labels(kind).inc(),
    pool_wait=metrics.DB_POOL_WAITING.track_inprogress,
)


def unit_of_work(engine: Engine, events: bool = True) -> SqlUnitOfWork:
    """A unit of work on `engine` that reports to the metrics; `events=False` (ORDERS_EVENTS_OUTBOX=false)
    writes no events."""
    return SqlUnitOfWork(engine, convert.event_payload if events else None, STORAGE_TELEMETRY)
