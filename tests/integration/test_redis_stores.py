"""The rate limiter and the idempotency store on a real Redis, each test under its own key prefix."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY

from service.redis.idempotency_store import MemoryStore, Record, RedisStore, StoredOutcome
from service.redis.rate_limiter import MemoryLimiter, Rate, RedisLimiter
from service.redis.guard import RedisGuard, connect, is_cluster
from tests.helpers import until
from tests.redis_cluster import RedisCluster, private_cluster
from chaos.redis_server import private_redis


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["single", "cluster"])
def redis_target(request: pytest.FixtureRequest) -> str:
    """Every store test runs on one Redis and on a three-master Redis Cluster."""
    if request.param == "single":
        return str(request.getfixturevalue("redis_url"))
    return str(request.getfixturevalue("redis_cluster").url)


@pytest.fixture
def guard(redis_target: str) -> Iterator[RedisGuard]:
    guard = connect(redis_target)
    yield guard
    guard.close()


@pytest.fixture
def prefix(redis_target: str, redis_cluster: RedisCluster) -> Iterator[str]:
    prefix = f"erp-orders-test-{uuid.uuid4().hex}:"
    yield prefix
    admin = redis_cluster.client() if is_cluster(redis_target) else redis.Redis.from_url(redis_target)
    for name in admin.scan_iter(match=prefix + "*"):  # only our own keys; never FLUSHALL
        admin.delete(name)
    admin.close()


@pytest.mark.parametrize("make", ["redis", "memory"])
def test_n_calls_pass_the_next_waits_and_the_window_restores_the_burst(guard: RedisGuard, prefix: str, make: str) -> None:
    clock = Clock()
    limiter = RedisLimiter(guard, prefix, clock) if make == "redis" else MemoryLimiter(clock)
    rate = Rate.parse("3/min")
    assert rate is not None
    assert [limiter.acquire("k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("k", rate) == pytest.approx(20.0)
    assert limiter.acquire("other", rate) == 0.0
    clock.now += 20.0
    assert limiter.acquire("k", rate) == 0.0
    assert limiter.acquire("k", rate) > 0
    clock.now += 60.0
    assert [limiter.acquire("k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]


def test_rates_parse_from_settings_text() -> None:
    assert Rate.parse("100/s") == Rate(100, 1.0)
    assert Rate.parse("5/min") == Rate(5, 60.0)
    assert Rate.parse("off") is None
    with pytest.raises(ValueError):
        Rate.parse("5 per second")


def test_a_key_is_claimed_once_and_only_its_owner_stores_the_outcome(guard: RedisGuard, prefix: str) -> None:
    store = RedisStore(guard, prefix)
    mine, theirs = Record("me", "fp", None), Record("them", "fp", None)
    assert store.claim("scope", mine, lease_s=30) is None
    assert store.claim("scope", theirs, lease_s=30) == mine
    store.complete("scope", Record("them", "fp", StoredOutcome(0, b"theirs")), ttl_s=60)
    store.release("scope", "them")
    assert store.claim("scope", theirs, lease_s=30) == mine
    done = Record("me", "fp", StoredOutcome(9, b"", "short", b"\x00details"))
    store.complete("scope", done, ttl_s=60)
    assert store.claim("scope", theirs, lease_s=30) == done


@pytest.mark.parametrize("make", ["redis", "memory"])
def test_only_the_owner_of_a_running_call_renews_its_lease_and_never_an_outcome(guard: RedisGuard, prefix: str, make: str) -> None:
    store = RedisStore(guard, prefix) if make == "redis" else MemoryStore()
    free = lambda: store.claim("scope", Record("next", "fp", None), lease_s=30) is None  # noqa: E731
    store.claim("scope", Record("me", "fp", None), lease_s=1)
    store.renew("scope", "them", lease_s=3600)  # not theirs: no effect
    until(lambda: store.claim("scope", Record("them", "fp", None), lease_s=30) is None, "the lease ends", 10, 0.05)
    store.renew("scope", "them", lease_s=1)  # the owner's renewal counts from now: 1 s, not the 30 of its claim
    until(free, "the renewed lease ends", 10, 0.05)
    store.complete("scope", Record("next", "fp", StoredOutcome(0, b"r")), ttl_s=1)
    store.renew("scope", "next", lease_s=3600)  # raced the completion: the outcome keeps its own expiry
    until(free, "the outcome expires", 10, 0.05)


def test_a_released_key_can_be_claimed_again(guard: RedisGuard, prefix: str) -> None:
    store = RedisStore(guard, prefix)
    store.claim("scope", Record("me", "fp", None), lease_s=30)
    store.release("scope", "me")
    assert store.claim("scope", Record("next", "fp", None), lease_s=30) is None


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "redis+cluster://127.0.0.1:1,127.0.0.1:2"])
def test_an_unreachable_redis_fails_open_and_is_counted(url: str, caplog: pytest.LogCaptureFixture) -> None:
    guard = connect(url)
    limiter, store = RedisLimiter(guard, "p:"), RedisStore(guard, "p:")
    rate = Rate.parse("1/min")
    assert rate is not None
    before = _failures("rate limit") + _failures("idempotency claim")
    assert [limiter.acquire("k", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert store.claim("scope", Record("me", "fp", None), 30) is None
    assert _failures("rate limit") + _failures("idempotency claim") - before == 4
    assert [r.getMessage().split(",")[0] for r in caplog.records] == ["redis unavailable during rate limit"]
    guard.close()


# redis-py drops the node clients that a topology refresh replaced without closing their sockets.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_cluster_without_a_master_for_a_slot_fails_open_like_a_lost_redis(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with private_cluster(tmp_path) as cluster:
        guard = connect(cluster.url, pause_s=0.0)
        store = RedisStore(guard, "p:")
        assert store.claim("before", Record("me", "fp", None), lease_s=30) is None
        dead, *alive = cluster.ports
        cluster.kill(dead)
        until(lambda: all(cluster.state(p) == "fail" for p in alive), "the other masters see the cluster down", 60)
        before = _failures("idempotency claim")
        # Keys on every node: the dead master's slots (connection refused) and the live ones' (CLUSTERDOWN).
        assert [store.claim(f"scope-{i}", Record("me", "fp", None), lease_s=30) for i in range(6)] == [None] * 6
        assert _failures("idempotency claim") - before == 6
        assert {r.getMessage().split(",")[0] for r in caplog.records} == {"redis unavailable during idempotency claim"}
        assert any("CLUSTERDOWN" in r.getMessage() or "cluster is down" in r.getMessage() for r in caplog.records)
        guard.close()
        gc.collect()  # those sockets are reported here, under this test's filter, not at the end of the run


def _failures(operation: str) -> float:
    return REGISTRY.get_sample_value("orders_redis_failures_total", {"operation": operation}) or 0.0


def test_scripts_the_server_has_forgotten_are_loaded_again(tmp_path: Path) -> None:
    with private_redis(tmp_path) as server:  # SCRIPT FLUSH would touch every user of a shared server
        guard = RedisGuard(redis.Redis.from_url(server.url))
        limiter, store = RedisLimiter(guard, "p:", Clock()), RedisStore(guard, "p:")
        rate = Rate.parse("1/min")
        assert rate is not None
        before = _failures("rate limit") + _failures("idempotency store")
        assert limiter.acquire("k", rate) == 0.0
        server.client.script_flush()
        assert limiter.acquire("k", rate) == pytest.approx(60.0)  # the script ran: no fail-open 0
        assert store.claim("scope", Record("me", "fp", None), lease_s=30) is None
        server.client.script_flush()
        done = Record("me", "fp", StoredOutcome(0, b"response"))
        store.complete("scope", done, ttl_s=60)
        assert store.claim("scope", Record("them", "fp", None), lease_s=30) == done
        assert _failures("rate limit") + _failures("idempotency store") == before
        guard.client.close()


def test_a_connection_the_server_dropped_is_replaced_on_the_next_call(tmp_path: Path) -> None:
    with private_redis(tmp_path) as server:
        guard = RedisGuard(redis.Redis.from_url(server.url), pause_s=0.0)
        assert guard.command("ping", None, "PING") == b"PONG"
        killed = server.client.client_kill_filter(_type="normal", skipme=True)
        assert killed >= 1
        guard.command("ping", None, "PING")  # may fail open on the dead socket
        assert guard.command("ping", None, "PING") == b"PONG"
        guard.client.close()


def test_a_rate_so_high_that_one_interval_rounds_to_nothing_still_passes(guard: RedisGuard, prefix: str) -> None:
    # At 10^9 calls a second the next arrival time equals now in floating point: the key still
    # needs an expiry of at least a millisecond (PX 0 is an error).
    limiter = RedisLimiter(guard, prefix, Clock())
    assert [limiter.acquire("k", Rate(1_000_000_000, 1.0)) for _ in range(3)] == [0.0, 0.0, 0.0]
