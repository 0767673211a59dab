"""Readiness tells the truth: NOT_SERVING while the database is unreachable or not migrated to the
head, SERVING without Redis."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from service.runtime import http_server as rest
from service.runtime.grpc_server import build_server, start, stop
from service.runtime.bootstrap import engine as make_engine
from service.settings import Settings
from storage.migrate import head, upgrade
from tests.conftest import fresh_database, running_server, server_settings
from chaos.redis_server import private_redis
from chaos.proxy import TcpProxy


def _status(port: int) -> str:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def test_readiness_follows_the_database_and_ignores_redis(mysql_url: str, engine: Engine, tmp_path: Path) -> None:
    url = make_url(mysql_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 3306)
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    with private_redis(tmp_path) as redis:
        settings = server_settings(
            proxied, redis_url=redis.url, readiness_interval_s=3600, db_pool_timeout_s=2, http_host="127.0.0.1", http_port=0
        )
        running = build_server(settings)
        start(running)
        gateway = rest.start(settings, rest.channel(settings, f"127.0.0.1:{running.port}"))
        readyz = f"http://127.0.0.1:{gateway.port}/readyz"
        try:
            assert (_status(running.port), httpx.get(readyz).status_code) == ("SERVING", 200)
            proxy.cut()
            assert running.readiness.check() is False
            assert (_status(running.port), httpx.get(readyz).status_code) == ("NOT_SERVING", 503)
            proxy.start()
            assert running.readiness.check() is True
            assert (_status(running.port), httpx.get(readyz).status_code) == ("SERVING", 200)
            redis.stop()
            assert running.readiness.check() is True
            assert (_status(running.port), httpx.get(readyz).text) == ("SERVING", "SERVING\n")
        finally:
            rest.stop(gateway)
            stop(running, grace=0)
            proxy.cut()


def test_readiness_waits_for_the_schema_to_reach_the_migration_head(caplog: pytest.LogCaptureFixture) -> None:
    with fresh_database() as url:
        engine = make_engine(Settings(database_url=url), pool_size=2, max_overflow=0)
        with running_server(server_settings(url, readiness_interval_s=3600), engine) as running:
            assert _status(running.port) == "NOT_SERVING"
            upgrade(engine, "0003")
            assert running.readiness.check() is False
            assert _status(running.port) == "NOT_SERVING"
            assert [r.getMessage() for r in caplog.records if r.name == "service.runtime.readiness"] == [
                f"readiness NOT_SERVING: the database has no schema (this code needs revision {head()}); run `erp-orders migrate`",
                f"readiness NOT_SERVING: the database schema is at revision 0003, this code needs {head()}; run `erp-orders migrate`",
            ]
            upgrade(engine)
            assert running.readiness.check() is True
            assert _status(running.port) == "SERVING"
        engine.dispose()


def test_a_schema_migrated_by_a_later_release_keeps_this_one_ready() -> None:
    with fresh_database() as url:
        engine = make_engine(Settings(database_url=url), pool_size=2, max_overflow=0)
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with running_server(server_settings(url, readiness_interval_s=3600), engine) as running:
            assert _status(running.port) == "SERVING"
        engine.dispose()
