"""Readiness: the health service reports NOT_SERVING while the database does not answer, or its
schema is behind this code's migrations, in any worker process."""

from __future__ import annotations

import logging
import threading

from grpc_health.v1 import health, health_pb2
from sqlalchemy import Engine

from service import metrics
from storage.migrate import schema_behind

log = logging.getLogger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class ReadinessProbe:
    """Checks the database every `interval_s` (it answers, and its schema is at this code's migration
    head or later) and sets the overall and per-service health status.

    Redis is deliberately not probed: without it the service still takes orders (see README).
    With `workers` > 1 processes, each publishes its own result (orders_workers_ready) and reports
    SERVING only while all `workers` do, so that whichever worker a probe reaches answers for the
    whole service.
    """

    def __init__(
        self, engine: Engine, servicer: health.HealthServicer, services: tuple[str, ...], interval_s: float, workers: int = 1
    ) -> None:
        self._engine = engine
        self._workers = workers
        self._servicer = servicer
        self._names = ("", *services)
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readiness", daemon=True)
        self._ready: bool | None = None
        self._state: str | None = None  # what was wrong at the last check

    def start(self) -> None:
        self.check()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        metrics.WORKERS_READY.set(0)
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval_s + 5)

    def dispose(self) -> None:
        self._engine.dispose()

    def check(self) -> bool:
        state, detail = self._probe()
        if state != self._state and state is not None:
            log.warning("readiness NOT_SERVING: %s", detail)
        if state is None and self._state:
            log.info("database ready again")
        if not self._stopped.is_set():
            metrics.WORKERS_READY.set(1 if state is None else 0)
        ready = state is None and (self._workers == 1 or metrics.ready_workers() >= self._workers)
        if ready != self._ready and not self._stopped.is_set():
            for name in self._names:
                self._servicer.set(name, SERVING if ready else NOT_SERVING)
        self._ready, self._state = ready, state
        return ready

    def _probe(self) -> tuple[str | None, str]:
        """(None, "") when ready; else what is wrong, once as a stable key (logged when it changes)
        and once in full."""
        try:
            with self._engine.connect() as conn:
                behind = schema_behind(conn)
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            return "unreachable", f"database unreachable: {error}"
        if behind:
            # Every call would fail on a missing table or column: not ready until migrated.
            return behind, f"{behind}; run `erp-orders migrate`"
        return None, ""

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            self.check()
