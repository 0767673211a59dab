"""Every Prometheus metric the service exports, in one place (served at GET /metrics on the HTTP port).

With several worker processes the supervisor sets PROMETHEUS_MULTIPROC_DIR (prometheus-client's own
switch, read when it is imported): every worker then writes its values to files there, and a scrape
of any worker reads them all, so one scrape is the whole service. Counters and histograms are
summed, the files of dead workers included, so they never go backwards; each gauge says how it
combines (`multiprocess_mode`), over live workers only.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.registry import REGISTRY

_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

RPCS = Counter("orders_rpcs_total", "RPCs finished, by method and gRPC status code.", ["method", "code"])
RPC_SECONDS = Histogram(
    "orders_rpc_duration_seconds",
    "Time from the first interceptor to the response, by method.",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("orders_rpcs_in_flight", "RPCs being handled now.", multiprocess_mode="livesum")
_WORKERS_READY = "orders_workers_ready"
WORKERS_READY = Gauge(
    _WORKERS_READY, "Worker processes whose database answers (readiness).", multiprocess_mode="livesum"
)

DB_POOL_IN_USE = Gauge("orders_db_pool_in_use", "Database connections checked out of the pool.", multiprocess_mode="livesum")
DB_POOL_WAITING = Gauge("orders_db_pool_waiting", "Calls waiting for a database connection.", multiprocess_mode="livesum")
DB_LOCK_ERRORS = Counter(
    # kind: deadlock, lock_wait_timeout, busy (SQLite), interrupted (KILL QUERY)
    "orders_db_lock_errors_total", "Transactions the database aborted on locks or by KILL QUERY.", ["kind"]
)
LOCK_RETRIES = Counter("orders_lock_contention_retries_total", "Use cases re-run after lock contention.")

IDEMPOTENCY = Counter(
    "orders_idempotency_events_total", "Idempotency-key outcomes other than a first run.", ["event"]  # replay, in_use, reused
)
RATE_LIMITED = Counter("orders_rate_limited_total", "Calls rejected by the rate limit, by method class.", ["method_class"])
HTTP_CONNECTIONS_CLOSED = Counter(
    "orders_http_connections_closed_total",
    "REST connections the gateway closed: header_timeout, body_timeout, or over_capacity (refused at once).",
    ["reason"],
)
REDIS_FAILURES = Counter("orders_redis_failures_total", "Redis calls that failed open.", ["operation"])
STOCK_MOVEMENTS = Counter("orders_stock_movements_total", "Committed stock-ledger entries, by kind.", ["kind"])

ORDER_BATCH_SIZE = Histogram(
    "orders_create_batch_size", "Orders per group-commit batch (a batch of one runs on the single-order path).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
ORDER_BATCH_FALLBACKS = Counter(
    "orders_create_batch_fallbacks_total",
    "Batches whose transaction failed as a whole, so each order was run alone, by reason.",
    ["reason"],  # key_taken, lock_contention, unexpected
)

# Every relay counts the same table: with several workers the largest live count is the truth.
OUTBOX_BACKLOG = Gauge(
    "orders_outbox_backlog", "Outbox events not yet published, as the relay last counted them.", multiprocess_mode="livemax"
)
OUTBOX_LAG = Gauge(
    "orders_outbox_lag_seconds", "Age of the oldest unpublished outbox event (0 when none is waiting).", multiprocess_mode="livemax"
)
EVENTS_PUBLISHED = Counter(
    "orders_events_published_total", "Events the broker acknowledged, by outcome.", ["outcome"]  # stored, duplicate
)
EVENT_PUBLISH_LAG = Histogram(
    "orders_event_publish_lag_seconds",
    "Time from an event's change to the broker's PubAck.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
EVENT_PUBLISH_FAILURES = Counter("orders_event_publish_failures_total", "Publishes that got no PubAck (the event waits).")
OUTBOX_PRUNED = Counter("orders_outbox_pruned_total", "Outbox events deleted after the retention.")


def _registry() -> CollectorRegistry:
    if _MULTIPROC_DIR not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition() -> bytes:
    """The Prometheus text of the whole service: every worker's, or this process's when it is the only one."""
    return generate_latest(_registry())


def ready_workers() -> float:
    """How many live workers report ready (this one alone without several workers)."""
    return _registry().get_sample_value(_WORKERS_READY) or 0.0


def use_directory(path: str) -> None:
    """For the supervisor, before it starts the workers: they inherit it and write their values there."""
    os.environ[_MULTIPROC_DIR] = path


def process_dead(pid: int) -> None:
    """For the supervisor: drops a dead worker's live gauges (its counters stay in the sums)."""
    multiprocess.mark_process_dead(pid)
