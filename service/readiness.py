"""Readiness: the health service reports NOT_SERVING while the database does not answer."""

from __future__ import annotations

import logging
import threading

from grpc_health.v1 import health, health_pb2
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class ReadinessProbe:
    """Pings the database every `interval_s` and sets the overall and per-service health status.

    Redis is deliberately not probed: without it the service still takes orders (see README).
    """

    def __init__(self, engine: Engine, servicer: health.HealthServicer, services: tuple[str, ...], interval_s: float) -> None:
        self._engine = engine
        self._servicer = servicer
        self._names = ("", *services)
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readiness", daemon=True)
        self._ready: bool | None = None

    def start(self) -> None:
        self.check()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval_s + 5)

    def dispose(self) -> None:
        self._engine.dispose()

    def check(self) -> bool:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            ready = True
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            ready = False
            if self._ready is not False:
                log.warning("database unreachable, readiness NOT_SERVING: %s", error)
        if ready and self._ready is False:
            log.info("database reachable again, readiness SERVING")
        if ready != self._ready and not self._stopped.is_set():
            for name in self._names:
                self._servicer.set(name, SERVING if ready else NOT_SERVING)
        self._ready = ready
        return ready

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            self.check()
