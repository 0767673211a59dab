"""Calls Redis, failing open: when Redis is down or refuses a command, callers get a fallback and the service keeps taking orders."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException
from redis.retry import Retry

from service import metrics

log = logging.getLogger(__name__)


class Script:
    """A Lua script, run by its SHA1 and loaded again if the server has forgotten it (restart, FLUSH)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


def slot_key(prefix: str, name: str, tag: str) -> str:
    """`prefix + name + {tag}`: on a cluster, the hash tag alone picks the slot, so every key a script
    touches for one subject (one tag) lives on one node and the script stays atomic (no CROSSSLOT).
    The prefix holds no braces (settings check it): a tag in it would put every key on one node."""
    return f"{prefix}{name}{{{tag}}}"


class RedisGuard:
    """Runs commands on one Redis or a Redis Cluster, and after a failure skips Redis for `pause_s`,
    so that an outage costs one timeout, not one per call.

    On one Redis each thread has a connection of its own. Why not redis-py's pool: every request
    thread makes one to three calls per RPC, and the pool's checkout (a lock and a readiness poll of
    the socket) and command wrappers doubled the CPU of each call (measured: 90 µs through `Redis`,
    43 µs on a connection). A cluster goes through `RedisCluster`, whose slot map, MOVED/ASK
    redirects and topology refreshes are the point of using it; a per-thread connection per node
    would have to redo all of that. What that costs: about 100 µs of CPU per call against about 17 µs
    on one Redis (ARCHITECTURE.md, "The interceptor chain").
    """

    def __init__(self, client: redis.Redis | Callable[[], RedisCluster], pause_s: float = 1.0) -> None:
        # One Redis: its pool's settings (URL, timeouts, TLS) make each thread's connection. A cluster:
        # made on first use, because its constructor fetches the slot map, and a cluster unreachable
        # at startup must fail open like a lost Redis, not stop the service.
        self.client = client if isinstance(client, redis.Redis) else None
        self._make_cluster = None if isinstance(client, redis.Redis) else client
        self._cluster: RedisCluster | None = None
        self._pause_s = pause_s
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()

    def command(self, what: str, fallback: Any, *args: Any) -> Any:
        """One command's reply, or `fallback` while Redis is unreachable."""
        if time.monotonic() < self._down_until:
            metrics.REDIS_FAILURES.labels(what).inc()
            return fallback
        try:
            return self._execute(args)
        except NoScriptError:
            raise  # the script() below loads it
        except (redis.RedisError, RedisClusterException) as error:
            # A lost connection, and every error reply too: OOM, READONLY after a failover, CLUSTERDOWN,
            # a key of the wrong type. Redis is a fast path whose callers all have a fallback, and a
            # re-raised error failed every call, reads included, until Redis recovered.
            self._fail(what, error)
            return fallback

    def script(self, what: str, fallback: Any, script: Script, keys: list[str], args: list[Any]) -> Any:
        try:
            return self.command(what, fallback, "EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return self.command(what, fallback, "EVAL", script.source, len(keys), *keys, *args)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def _execute(self, args: tuple[Any, ...]) -> Any:
        if self.client is None:
            # RedisCluster parses replies. `get=True` is the one parser option our commands need: it
            # keeps SET … GET's reply (the previous value) instead of a bool. EVAL/EVALSHA are not parsed.
            return self._cluster_client().execute_command(*args, get=True)
        conn = self._connection(self.client)
        try:
            conn.send_command(*args)
            return conn.read_response()
        except redis.ResponseError:
            raise  # an error reply: the connection is still in step
        except redis.RedisError:
            conn.disconnect()  # a reply may still be on its way: never read it as the next one's
            raise

    def _connection(self, client: redis.Redis) -> redis.Connection:
        conn: redis.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            pool = client.connection_pool
            conn = self._local.conn = pool.connection_class(**pool.connection_kwargs)
        return conn

    def _cluster_client(self) -> RedisCluster:
        with self._lock:
            if self._cluster is None:
                assert self._make_cluster is not None
                self._cluster = self._make_cluster()
            return self._cluster

    def _fail(self, what: str, error: Exception) -> None:
        metrics.REDIS_FAILURES.labels(what).inc()
        with self._lock:
            warn = time.monotonic() >= self._down_until
            self._down_until = time.monotonic() + self._pause_s
        if warn:
            log.warning("redis unavailable during %s, failing open for %.1f s: %s", what, self._pause_s, error)


_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def connect(url: str, timeout_s: float = 0.25, pause_s: float = 1.0) -> RedisGuard:
    """A guard for `redis://…` / `rediss://…` (one Redis), or `redis+cluster://[user:password@]host:port,host:port…`
    (`rediss+cluster://` for TLS): a Redis Cluster found through any of those seed nodes."""
    # Short timeouts: Redis is a fast path in front of the database, never worth waiting for.
    timeouts: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    if not is_cluster(url):
        return RedisGuard(redis.Redis.from_url(url, **timeouts), pause_s)
    first, seeds = cluster_seeds(url)

    def make() -> RedisCluster:
        # One retry, without backoff: enough to follow a refreshed slot map after a failover, and an
        # outage still costs one short wait, not redis-py's default ten with exponential backoff.
        return RedisCluster(url=first, startup_nodes=seeds, retry=Retry(NoBackoff(), 1), **timeouts)

    return RedisGuard(make, pause_s)


def is_cluster(url: str) -> bool:
    return url.partition("://")[0] in _CLUSTER_SCHEMES


def cluster_seeds(url: str) -> tuple[str, list[ClusterNode]]:
    """The URL of the first seed node (with the credentials and options), and the other seed nodes."""
    scheme, _, rest = url.partition("://")
    auth, at, rest = rest.rpartition("@")
    match = re.fullmatch(r"([^/?]*)(.*)", rest, re.DOTALL)
    assert match is not None  # the pattern matches any text
    hosts = [h.strip() for h in match[1].split(",") if h.strip()]
    if not hosts:
        raise ValueError(f"{scheme}:// names no host:port seed node")
    others = []
    for host in hosts[1:]:
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"cluster seed {host!r} is not host:port")
        others.append(ClusterNode(name.strip("[]"), int(port)))
    return f"{_CLUSTER_SCHEMES[scheme]}://{auth}{at}{hosts[0]}{match[2]}", others
