"""Every Prometheus metric the service exports, in one place (served at GET /metrics on the HTTP port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RPCS = Counter("orders_rpcs_total", "RPCs finished, by method and gRPC status code.", ["method", "code"])
RPC_SECONDS = Histogram(
    "orders_rpc_duration_seconds",
    "Time from the first interceptor to the response, by method.",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("orders_rpcs_in_flight", "RPCs being handled now.")

DB_POOL_IN_USE = Gauge("orders_db_pool_in_use", "Database connections checked out of the pool.")
DB_POOL_WAITING = Gauge("orders_db_pool_waiting", "Calls waiting for a database connection.")
DB_LOCK_ERRORS = Counter(
    # kind: deadlock, lock_wait_timeout, busy (SQLite), interrupted (KILL QUERY)
    "orders_db_lock_errors_total", "Transactions the database aborted on locks or by KILL QUERY.", ["kind"]
)
LOCK_RETRIES = Counter("orders_lock_contention_retries_total", "Use cases re-run after lock contention.")

IDEMPOTENCY = Counter(
    "orders_idempotency_events_total", "Idempotency-key outcomes other than a first run.", ["event"]  # replay, in_use, reused
)
RATE_LIMITED = Counter("orders_rate_limited_total", "Calls rejected by the rate limit, by method class.", ["method_class"])
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

OUTBOX_BACKLOG = Gauge("orders_outbox_backlog", "Outbox events not yet published, as the relay last counted them.")
OUTBOX_LAG = Gauge("orders_outbox_lag_seconds", "Age of the oldest unpublished outbox event (0 when none is waiting).")
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
