"""Shared fixtures: a private MariaDB/MySQL database per run, and a real in-process gRPC server.

The servers come from ORDERS_TEST_MYSQL_URL (default mysql+mysqldb://root@127.0.0.1:3306) and
ORDERS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0). Each run creates its own database and
drops it at the end, and keeps its Redis keys under a prefix of its own; nothing else on the servers
is touched. Tests that flush or stop Redis start a private redis-server (chaos/redis_server.py).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from service.runtime import http_server as rest
from service.runtime.grpc_server import Running, build_server, start, stop
from service.runtime import bootstrap
from service.settings import Settings
from storage.migrate import upgrade
from tests.helpers import TEST_SECRET, authorized_channel, token
from tests.redis_cluster import RedisCluster, private_cluster

MYSQL_URL = os.environ.get("ORDERS_TEST_MYSQL_URL", "mysql+mysqldb://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("ORDERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HOW_TO_START = (
    "Tests need MariaDB ≥10.6 or MySQL 8 at {url}. Install and start it, e.g. on Debian/Ubuntu: "
    "`apt-get install mariadb-server && service mariadb start` (or `bash .ci/run`, which does it), "
    "or point ORDERS_TEST_MYSQL_URL at a server where the user may CREATE and DROP databases."
)


def _server_url() -> URL:
    return make_url(MYSQL_URL).set(database=None)


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A fresh database, dropped when the run ends."""
    with fresh_database() as url:
        yield url


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database of its own, dropped on leaving."""
    name = f"orders_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_server_url())
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as error:  # noqa: BLE001 - any failure to reach the server means the same thing
        pytest.fail(HOW_TO_START.format(url=_server_url().render_as_string(hide_password=True)) + f"\n({error})")
    try:
        yield _server_url().set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Tests need Redis 7 at {REDIS_URL}. Install and start it, e.g. on Debian/Ubuntu: "
            "`apt-get install redis-server && redis-server --daemonize yes` (or `bash .ci/run`, which does it), "
            f"or point ORDERS_TEST_REDIS_URL at one.\n({error})"
        )
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session")
def engine(mysql_url: str) -> Iterator[Engine]:
    engine = bootstrap.engine(Settings(database_url=mysql_url), pool_size=32, max_overflow=16)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def one_connection(mysql_url: str, engine: Engine) -> Iterator[Engine]:
    """A pool of exactly one connection to the migrated test database: every unit of work shares it
    (what `tests.helpers.record_calls` watches)."""
    pool = bootstrap.engine(Settings(database_url=mysql_url), pool_size=1, max_overflow=0)
    yield pool
    pool.dispose()


@pytest.fixture
def migrated() -> Iterator[Engine]:
    """A database of its own at the migration head, for a test that migrates it down and up again."""
    with fresh_database() as url:
        engine = bootstrap.engine(Settings(database_url=url), pool_size=1)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def observer(mysql_url: str) -> Iterator[Engine]:
    """A separate engine for a test to watch the database from: sharing the server's pool with a
    polling loop starved the server's own checkouts."""
    watcher = create_engine(mysql_url, pool_size=1, max_overflow=0)
    yield watcher
    watcher.dispose()


@contextmanager
def running_server(settings: Settings, engine: Engine | None) -> Iterator[Running]:
    """A started server; with engine=None it builds its own from the settings (pool sizes, timeouts)."""
    running = build_server(settings, engine)
    start(running)
    try:
        yield running
    finally:
        stop(running, grace=0)


def server_settings(database_url: str, **overrides: object) -> Settings:
    """Production settings, with rate limits off so that concurrency tests are not throttled."""
    base: dict[str, object] = {
        "database_url": database_url, "grpc_host": "127.0.0.1", "grpc_port": 0, "grpc_workers": 64,
        "retry_attempts": 10, "jwt_secret": TEST_SECRET,
        "rate_limit_read": "off", "rate_limit_write": "off", "rate_limit_auth_failures": "off",
        "redis_key_prefix": f"erp-orders-test-{uuid.uuid4().hex[:8]}:",
    }
    merged: dict[str, Any] = {**base, **overrides}
    return Settings(**merged)


@pytest.fixture(scope="session")
def settings(mysql_url: str, redis_url: str) -> Settings:
    return server_settings(mysql_url, redis_url=redis_url)


@pytest.fixture(scope="session")
def server(settings: Settings, engine: Engine) -> Iterator[Running]:
    with running_server(settings, engine) as running:
        yield running


@pytest.fixture(scope="session")
def channel(server: Running) -> Iterator[grpc.Channel]:
    """A channel whose calls carry a token for `tester` with every role."""
    with authorized_channel(server.port, token("tester")) as channel:
        yield channel


@pytest.fixture(scope="session")
def sqlite_channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    """The embedded default: the same server on a SQLite file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'orders.db'}"
    engine = bootstrap.engine(Settings(database_url=url))
    upgrade(engine)
    with running_server(server_settings(url), engine) as running, authorized_channel(running.port, token("tester")) as channel:
        yield channel


# Small enough that the 413 test stays cheap, large enough for any real request.
GATEWAY_MAX_BODY_BYTES = 64 * 1024


# The two ways the gateway calls: `serve`'s gateway dispatches to its own handlers in-process,
# `erp-orders gateway` calls a server over a gRPC channel. A test module that checks what they must
# agree on (errors, metadata, replay headers, deadlines, rate limits, auth) sets
# GATEWAY_BACKENDS = BOTH_BACKENDS; the others run in-process, as `serve` does.
IN_PROCESS, CHANNEL = "in-process", "channel"
BOTH_BACKENDS = (IN_PROCESS, CHANNEL)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gateway" in metafunc.fixturenames:
        backends = getattr(metafunc.module, "GATEWAY_BACKENDS", (IN_PROCESS,))
        metafunc.parametrize("gateway", backends, indirect=True, scope="session")


def gateway_backend(kind: str, settings: Settings, running: Running) -> rest.Backend:
    if kind == IN_PROCESS:
        return rest.in_process(settings, running.dispatcher, running.local_target)
    return rest.channel(settings, f"127.0.0.1:{running.port}")


@pytest.fixture(scope="session")
def gateway(request: pytest.FixtureRequest, settings: Settings, server: Running) -> Iterator[rest.RunningGateway]:
    """The REST gateway on a free port, calling the session's gRPC server in-process or over a channel."""
    gateway_settings = dataclasses.replace(settings, http_host="127.0.0.1", http_port=0, http_max_body_bytes=GATEWAY_MAX_BODY_BYTES)
    running = rest.start(gateway_settings, gateway_backend(request.param, gateway_settings, server))
    yield running
    rest.stop(running)


@pytest.fixture(scope="session")
def http(gateway: rest.RunningGateway) -> Iterator[httpx.Client]:
    # Every request carries a token for `tester` with every role, like the gRPC `channel`.
    headers = {"Authorization": f"Bearer {token('tester')}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{gateway.port}", timeout=30, headers=headers) as client:
        yield client


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A private three-master Redis Cluster for the whole run (tests that kill a node start their own)."""
    with private_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cluster_server(mysql_url: str, redis_cluster: RedisCluster, engine: Engine) -> Iterator[Running]:
    """The session's server, but keeping rate limits and idempotency keys on the Redis Cluster."""
    with running_server(server_settings(mysql_url, redis_url=redis_cluster.url), engine) as running:
        yield running
