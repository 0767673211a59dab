"""The composition root: the one place that builds the concrete adapters and wires them together."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, event

from service.grpc import context as ctx
from service.grpc import convert
from service import metrics
from service.redis import guard as redis_guard
from service.domain.ports import UnitOfWork
from service.usecases.retry import RetryPolicy
from service.usecases.runner import Runner
from service.redis.idempotency_store import IdempotencyStore, MemoryStore, RedisStore
from service.redis.rate_limiter import Limiter, MemoryLimiter, RedisLimiter
from service.redis.guard import RedisGuard
from service.settings import Settings
from storage.engine import make_engine
from storage.telemetry import StorageTelemetry
from storage.uow import SqlUnitOfWork

# What storage reports, as the service's metrics.
STORAGE_TELEMETRY = StorageTelemetry(
    lock_error=lambda kind: metrics.DB_LOCK_ERRORS.labels(kind).inc(),
    stock_movement=lambda kind: metrics.STOCK_MOVEMENTS.labels(kind).inc(),
    pool_wait=metrics.DB_POOL_WAITING.track_inprogress,
)


def engine(
    settings: Settings, pool_size: int | None = None, max_overflow: int | None = None, lock_wait_timeout_s: int | None = None
) -> Engine:
    """The engine of ORDERS_DATABASE_URL with the settings' pool and timeouts; a command that needs a
    few connections (or a test) passes its own pool size or lock wait."""
    return make_engine(
        settings.database_url,
        settings.db_pool_size if pool_size is None else pool_size,
        settings.db_max_overflow if max_overflow is None else max_overflow,
        settings.db_pool_timeout_s,
        settings.db_lock_wait_timeout_s if lock_wait_timeout_s is None else lock_wait_timeout_s,
    )


def probe_engine(settings: Settings, engine: Engine) -> Engine:
    """The readiness probe's engine, on `engine`'s database with a connection of its own: under load
    the request pool may be busy, and that must not read as "down"."""
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, pool_size=1, max_overflow=0, pool_timeout=5, lock_wait_timeout_s=settings.db_lock_wait_timeout_s)


def count_pool(engine: Engine) -> None:
    """The pool gauge, counted on checkout and checkin, not read from the pool at scrape time: with
    several workers a scrape reads every worker's values from files, and a function would run in
    one process only."""
    for name, count in (("checkout", _checked_out), ("checkin", _checked_in)):
        if not event.contains(engine, name, count):
            event.listen(engine, name, count)


def _checked_out(*_: object) -> None:
    metrics.DB_POOL_IN_USE.inc()


def _checked_in(*_: object) -> None:
    metrics.DB_POOL_IN_USE.dec()


def unit_of_work(engine: Engine, events: bool = True) -> SqlUnitOfWork:
    """A unit of work on `engine` that reports to the metrics; `events=False` (ORDERS_EVENTS_OUTBOX=false)
    writes no events."""
    return SqlUnitOfWork(engine, convert.event_payload if events else None, STORAGE_TELEMETRY)


def units_of_work(settings: Settings, engine: Engine) -> Callable[[], SqlUnitOfWork]:
    return lambda: unit_of_work(engine, settings.events_outbox)


def runner(settings: Settings, units: Callable[[], UnitOfWork]) -> Runner:
    """Runs use cases, each in a fresh unit of work, re-run on lock contention as ORDERS_RETRY_* say,
    and never after the caller's deadline."""
    policy = RetryPolicy(settings.retry_attempts, settings.retry_base_delay_ms / 1000)
    return Runner(units, policy, metrics.LOCK_RETRIES.inc, ctx.deadline_passed)


def redis(settings: Settings) -> RedisGuard | None:
    return redis_guard.connect(settings.redis_url) if settings.redis_url else None


# Rate limits and idempotency records live in Redis, shared by every process, or without
# ORDERS_REDIS_URL in this process's memory.
def limiter(settings: Settings, guard: RedisGuard | None) -> Limiter:
    return RedisLimiter(guard, settings.redis_key_prefix) if guard is not None else MemoryLimiter()


def idempotency_store(settings: Settings, guard: RedisGuard | None) -> IdempotencyStore:
    return RedisStore(guard, settings.redis_key_prefix) if guard is not None else MemoryStore()
