"""All settings, read once from ORDERS_* environment variables into one typed object."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, get_type_hints

from service.redis.rate_limiter import Rate
from service.redis.guard import cluster_seeds, is_cluster

_PREFIX = "ORDERS_"
_SECRETS = {"jwt_secret", "watch_token_secret"}
# What .env.example holds where a secret goes: refused, so that a copied example never runs as it is.
PLACEHOLDER = "change-me"
# scheme://user:password@…: a regex, not a URL parser, because a cluster URL lists several host:port seeds.
_PASSWORD = re.compile(r"^([^:/]+://[^:@/]*:)([^@]*)@")  # a URL's password, the second group
_RATES = {"rate_limit_read": "read_rate", "rate_limit_write": "write_rate", "rate_limit_auth_failures": "auth_failure_rate"}


class SettingsError(ValueError):
    """A setting is unknown or cannot be parsed. The message says which and what was expected."""


class _Parsed:
    # What Settings parses out of its text fields, once, in __post_init__. Declared here, outside the
    # dataclass, so that they are not fields: no ORDERS_* variable of their own.
    read_rate: Rate | None
    write_rate: Rate | None
    auth_failure_rate: Rate | None


@dataclass(frozen=True)
class Settings(_Parsed):
    # Storage
    database_url: str = "sqlite:///orders.db"
    db_pool_size: int = 16
    db_max_overflow: int = 8
    db_pool_timeout_s: float = 10.0
    # A transaction waiting this long for a row lock is rolled back and re-run (MySQL error 1205).
    db_lock_wait_timeout_s: int = 5
    # Lock contention: attempts of a whole use case, and the first backoff step.
    retry_attempts: int = 5
    retry_base_delay_ms: float = 5.0
    # Group commit: concurrent CreateOrder calls of one process share one transaction, up to this
    # many orders and lines (an order with more lines runs alone); 1 order turns batching off.
    # Writers: batches of one process in flight at once.
    batch_max_orders: int = 64
    batch_max_lines: int = 256
    batch_writers: int = 1
    # Server
    grpc_host: str = "[::]"
    grpc_port: int = 50051
    grpc_workers: int = 32
    grpc_max_concurrent_rpcs: int = 512
    # Server processes sharing the port (SO_REUSEPORT). One process is GIL-bound at about one core.
    grpc_processes: int = 1
    # A crashed worker process is restarted after a backoff; this many crashes within this many
    # seconds is a crash loop, and the service stops with exit code 1.
    worker_crash_limit: int = 5
    worker_crash_window_s: float = 60.0
    max_message_bytes: int = 4 * 1024 * 1024
    shutdown_grace_s: float = 10.0
    readiness_interval_s: float = 2.0
    # Server reflection for grpcurl. Unauthenticated: turn it off where untrusted clients can reach the port.
    reflection: bool = True
    # Streams that need no token (reflection, health Watch) open at once; each holds a handler
    # thread, so more are refused and the other grpc_workers threads stay for authenticated calls.
    open_streams_max: int = 4
    # Logs: `auto` writes readable text on a terminal and one JSON object per line elsewhere; `json`, `text` choose.
    log_level: str = "INFO"
    log_format: str = "auto"
    access_log_probes: bool = False  # the access log also has a line per health check (probes, /readyz)
    # REST gateway: started by `serve` next to gRPC, or alone by `gateway`.
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    http_max_body_bytes: int = 1024 * 1024
    # The deadline of a call whose request has no Grpc-Timeout header.
    http_timeout_s: float = 30.0
    # Slow or numerous clients: a request's headers must arrive within this of the connection's start
    # (or of the request's first byte), its body within this of its headers, or the connection is
    # closed; an idle kept-alive connection is closed after http_keep_alive_s. Past http_max_connections
    # open connections per process (never more than half its file-descriptor limit), new ones are
    # closed at once, so gRPC, the database and Redis keep their descriptors.
    http_header_timeout_s: float = 10.0
    http_body_timeout_s: float = 30.0
    http_keep_alive_s: float = 5.0
    http_max_connections: int = 1000
    # The HTTP server's own error logs (asyncio's and uvicorn's: failed accepts, broken connections)
    # write at most this many lines per interval, then one line saying how many were suppressed.
    http_error_log_lines: int = 20
    http_error_log_interval_s: float = 10.0
    # HOST:PORT the standalone gateway calls; empty means 127.0.0.1:grpc_port. `serve` always calls itself.
    gateway_target: str = ""
    # TLS for gRPC and the gateway (PEM files). A client CA turns on mTLS: clients must present a
    # certificate it signed. The gateway's channel to gRPC trusts ORDERS_GATEWAY_TLS_CA_FILE.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""
    gateway_tls_ca_file: str = ""
    gateway_tls_server_name: str = ""
    # Domain
    currency: str = "BRL"
    # Redis, for rate limits and idempotency keys (empty: in-process stores, for one process only).
    # redis://host:port/0 for one Redis; redis+cluster://host:port,host:port for a Redis Cluster.
    redis_url: str = ""
    redis_key_prefix: str = "erp-orders:"
    # Authentication: "jwt", or "disabled" for local development only (every call is `anonymous`).
    auth: str = "jwt"
    jwt_secret: str = ""  # HS256
    jwt_public_key: str = ""  # RS256, PEM; usually given as ORDERS_JWT_PUBLIC_KEY_FILE
    jwt_audience: str = ""
    jwt_issuer: str = ""
    # Per principal and method class: "N/s", "N/min" or "off".
    rate_limit_read: str = "1000/s"
    rate_limit_write: str = "200/s"
    # Failed authentications per peer address; beyond it the peer's calls are refused before their
    # token is checked.
    rate_limit_auth_failures: str = "10/s"
    # Idempotency keys: how long an outcome is kept, and the lease of a running call's key, renewed
    # every third of it while the call runs: a crashed process's keys are free within one lease.
    idempotency_ttl_s: float = 86400.0
    idempotency_lease_s: float = 10.0
    # Order events. The relay publishes the outbox to NATS JetStream (empty URL: it only prunes).
    # false: changes write no events at all (nothing for a relay or WatchOrderEvents), for a deployment
    # that has no consumer; `python -m bench` runs scenario a both ways to price the outbox.
    events_outbox: bool = True
    nats_url: str = ""
    events_stream: str = "ERP_ORDERS_EVENTS"
    events_subject_prefix: str = "erp.orders.v1"
    events_source: str = "/erp-orders"  # CloudEvents ce-source
    events_format: str = "protobuf"  # or "json": the payload's encoding, with its content type
    # The broker drops a repeated Nats-Msg-Id within this window: it must outlast a relay's retry horizon.
    events_duplicate_window_s: float = 600.0
    relay_in_serve: bool = False  # `serve` also runs a relay (each worker process one)
    relay_partitions: int = 16  # aggregates are spread over this many leases (hash mod N)
    relay_lease_s: float = 10.0
    relay_batch: int = 500
    relay_poll_interval_s: float = 0.05
    relay_log_interval_s: float = 60.0  # the relay logs what it published once per this many seconds
    # Published events are deleted after this, in small batches (also the resume tokens' lifetime).
    outbox_retention_s: float = 7 * 86400.0
    outbox_prune_batch: int = 500
    # WatchOrderEvents: one outbox reader per process, a bounded queue per watcher, at most this many
    # watchers per process (each holds a gRPC handler thread: keep it well below ORDERS_GRPC_WORKERS).
    watch_poll_interval_s: float = 0.1
    watch_gap_grace_s: float = 2.0  # how long the reader waits at an outbox id that has not committed yet
    watch_queue_size: int = 1000
    watch_max_streams: int = 16
    # One principal (the JWT subject) holds at most this many of them, so one reader cannot take them all.
    watch_max_per_principal: int = 4
    # Signs resume tokens (comma-separated: the first signs, every one verifies, for rotation); empty: ORDERS_JWT_SECRET.
    watch_token_secret: str = ""
    # ListOrders by update_time asc (a sync) leaves out orders whose last change is younger than this:
    # it must outlast the time from a change's update_time to its COMMIT, plus the clock skew between
    # service hosts, so that a change committed after a later one is never passed by a client's cursor.
    sync_settle_s: float = 2.0

    def public(self) -> dict[str, str]:
        """Every setting as ORDERS_* text, with secrets and URL passwords masked."""
        shown: dict[str, str] = {}
        for f in fields(self):
            value = str(getattr(self, f.name))
            if f.name in _SECRETS and value:
                value = "********"
            elif f.name.endswith("_url") and value:
                value = _PASSWORD.sub(r"\1***@", value)
            shown[_PREFIX + f.name.upper()] = value
        return shown

    def __post_init__(self) -> None:
        self._refuse_placeholders()
        if self.auth not in ("jwt", "disabled"):
            raise SettingsError(f"ORDERS_AUTH={self.auth!r} must be 'jwt' or 'disabled'")
        if self.jwt_secret and self.jwt_public_key:
            raise SettingsError("set ORDERS_JWT_SECRET or ORDERS_JWT_PUBLIC_KEY, not both")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise SettingsError("set both ORDERS_TLS_CERT_FILE and ORDERS_TLS_KEY_FILE, or neither")
        if self.tls_cert_file and not self.gateway_tls_ca_file:
            raise SettingsError(
                "ORDERS_TLS_CERT_FILE needs ORDERS_GATEWAY_TLS_CA_FILE: the gateway's channel to gRPC verifies the server with it"
            )
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise SettingsError("ORDERS_TLS_CLIENT_CA_FILE (mTLS) needs ORDERS_TLS_CERT_FILE and ORDERS_TLS_KEY_FILE")
        # A renewal is one Redis round trip (its timeout is 0.25 s), sent a third of a lease before the
        # lease ends: a shorter lease would let a slow renewal lose the key of a running call.
        if not 1 <= self.idempotency_lease_s <= self.idempotency_ttl_s:
            raise SettingsError(
                f"ORDERS_IDEMPOTENCY_LEASE_S={self.idempotency_lease_s:g} must be at least 1 and at most "
                f"ORDERS_IDEMPOTENCY_TTL_S={self.idempotency_ttl_s:g}"
            )
        if not 1 <= self.open_streams_max < self.grpc_workers:
            raise SettingsError(
                f"ORDERS_OPEN_STREAMS_MAX={self.open_streams_max} must be at least 1 and below "
                f"ORDERS_GRPC_WORKERS={self.grpc_workers}: the other threads serve authenticated calls"
            )
        for name in ("http_header_timeout_s", "http_body_timeout_s", "http_keep_alive_s", "http_error_log_interval_s"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{_PREFIX}{name.upper()}={getattr(self, name):g} must be above 0")
        for name in (
            "batch_max_orders", "batch_max_lines", "batch_writers", "worker_crash_limit", "http_max_connections", "http_error_log_lines",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"{_PREFIX}{name.upper()}={getattr(self, name)} must be at least 1")
        if self.sync_settle_s < 0:
            raise SettingsError(f"ORDERS_SYNC_SETTLE_S={self.sync_settle_s:g} must not be negative")
        if "{" in self.redis_key_prefix or "}" in self.redis_key_prefix:
            raise SettingsError(
                f"ORDERS_REDIS_KEY_PREFIX={self.redis_key_prefix!r} must not contain braces: on a Redis Cluster "
                "a {hash tag} in it would put every key on one node"
            )
        if is_cluster(self.redis_url):
            try:
                cluster_seeds(self.redis_url)
            except ValueError as error:
                raise SettingsError(f"ORDERS_REDIS_URL: {error}") from None
        if self.log_format not in ("auto", "json", "text"):
            raise SettingsError(f"ORDERS_LOG_FORMAT={self.log_format!r} must be 'auto', 'json' or 'text'")
        if self.events_format not in ("protobuf", "json"):
            raise SettingsError(f"ORDERS_EVENTS_FORMAT={self.events_format!r} must be 'protobuf' or 'json'")
        # A relay that published and died before marking is retried by another one after its lease
        # expires, or by itself after a restart: the broker must still remember the ids by then.
        if self.events_duplicate_window_s < 2 * self.relay_lease_s + 60:
            raise SettingsError(
                f"ORDERS_EVENTS_DUPLICATE_WINDOW_S={self.events_duplicate_window_s:g} must be at least twice "
                f"ORDERS_RELAY_LEASE_S plus a minute for a restart ({2 * self.relay_lease_s + 60:g} s)"
            )
        if not 1 <= self.watch_max_per_principal <= self.watch_max_streams:
            raise SettingsError(
                f"ORDERS_WATCH_MAX_PER_PRINCIPAL={self.watch_max_per_principal} must be at least 1 and at most "
                f"ORDERS_WATCH_MAX_STREAMS={self.watch_max_streams}"
            )
        if self.watch_token_secret and not any(self.watch_token_secret.split(",")):
            raise SettingsError("ORDERS_WATCH_TOKEN_SECRET must hold at least one secret")
        if self.relay_partitions < 1 or self.relay_batch < 1 or self.outbox_prune_batch < 1:
            raise SettingsError("ORDERS_RELAY_PARTITIONS, ORDERS_RELAY_BATCH and ORDERS_OUTBOX_PRUNE_BATCH must be at least 1")
        if self.relay_log_interval_s <= 0:
            raise SettingsError(f"ORDERS_RELAY_LOG_INTERVAL_S={self.relay_log_interval_s:g} must be above 0")
        for name, parsed in _RATES.items():
            try:
                object.__setattr__(self, parsed, Rate.parse(getattr(self, name)))
            except ValueError as error:
                raise SettingsError(f"{_PREFIX}{name.upper()}: {error}") from None

    def _refuse_placeholders(self) -> None:
        for name in _SECRETS:
            if str(getattr(self, name)).startswith(PLACEHOLDER):
                raise SettingsError(
                    f"{_PREFIX}{name.upper()} is still the placeholder of .env.example ({PLACEHOLDER}…): "
                    "set a secret of your own, e.g. the output of `openssl rand -hex 32`"
                )
        for name in ("database_url", "redis_url"):
            password = _PASSWORD.match(getattr(self, name))
            if password and password.group(2).startswith(PLACEHOLDER):
                raise SettingsError(
                    f"the password in {_PREFIX}{name.upper()} is still the placeholder of .env.example ({PLACEHOLDER}…): "
                    "set one of your own (with compose, MYSQL_PASSWORD in .env)"
                )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Reads ORDERS_<FIELD> variables, or ORDERS_<FIELD>_FILE for a value kept in a file (secrets).

        Unknown ORDERS_* variables are an error naming the nearest valid one.
        """
        env = os.environ if env is None else env
        hints = get_type_hints(cls)
        known = {_PREFIX + f.name.upper(): f.name for f in fields(cls)}
        for name in env:
            if name.startswith(_PREFIX) and name not in known and name.removesuffix("_FILE") not in known:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {near[0]}?" if near else ""
                raise SettingsError(f"unknown setting {name}{hint}")
        values: dict[str, Any] = {}
        for var, attr in known.items():
            if var in env and var + "_FILE" in env:
                raise SettingsError(f"set {var} or {var}_FILE, not both")
            if var in env:
                values[attr] = _cast(var, env[var], hints[attr])
            elif var + "_FILE" in env:
                values[attr] = _cast(var, _read(var + "_FILE", env[var + "_FILE"]), hints[attr])
        return cls(**values)


def _read(var: str, path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\n")
    except OSError as error:
        raise SettingsError(f"{var}: cannot read {path!r} ({error.strerror})") from None


def _cast(var: str, raw: str, kind: Any) -> Any:
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{var}={raw!r} is not a valid {getattr(kind, '__name__', kind)}") from None
