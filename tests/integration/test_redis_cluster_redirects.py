"""A slot that moves between masters while the service uses it: redis-py's cluster client follows the
ASK redirect of a migration in progress and the MOVED redirect after it, so no call fails open."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY

from service.redis.idempotency_store import Record, RedisStore, StoredOutcome
from service.redis.guard import connect, slot_key
from tests.redis_cluster import private_cluster


def _failures() -> float:
    return sum(
        REGISTRY.get_sample_value("orders_redis_failures_total", {"operation": op}) or 0.0
        for op in ("idempotency claim", "idempotency store")
    )


# redis-py drops the node clients that a topology refresh replaced without closing their sockets.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_key_whose_slot_migrates_is_found_through_ask_then_moved(tmp_path: Path) -> None:
    with private_cluster(tmp_path) as cluster:
        guard = connect(cluster.url, pause_s=0.0)
        store = RedisStore(guard, "p:")
        assert store.claim("order-1", Record("first", "fp", None), lease_s=60) is None  # the slot map is now cached
        key = slot_key("p:", "idem:", "order-1")
        nodes = {port: redis.Redis(port=port) for port in cluster.ports}
        ids = {port: node.cluster("MYID").decode() for port, node in nodes.items()}
        slot = nodes[cluster.ports[0]].cluster("KEYSLOT", key)
        def holds(port: int) -> bool:  # a node's own keys, without the redirect a plain EXISTS would get
            return key.encode() in nodes[port].execute_command("CLUSTER", "GETKEYSINSLOT", slot, 10)

        source = next(port for port in cluster.ports if holds(port))
        target = next(port for port in cluster.ports if port != source)
        before = _failures()

        # Migration in progress: the key is on the target, the source answers ASK for it.
        nodes[target].cluster("SETSLOT", slot, "IMPORTING", ids[source])
        nodes[source].cluster("SETSLOT", slot, "MIGRATING", ids[target])
        nodes[source].execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", key)
        assert holds(target) and not holds(source)
        held = store.claim("order-1", Record("second", "fp", None), lease_s=60)
        assert held is not None and held.owner == "first"  # found on the target: not claimed twice

        # Migration done: every node names the target, and the client's cached map earns a MOVED.
        for node in nodes.values():
            node.cluster("SETSLOT", slot, "NODE", ids[target])
        store.complete("order-1", Record("first", "fp", StoredOutcome(0, b"order", "", b"")), ttl_s=60)
        replay = store.claim("order-1", Record("third", "fp", None), lease_s=60)
        assert replay is not None and replay.outcome == StoredOutcome(0, b"order", "", b"")
        assert holds(target) and not holds(source)
        assert _failures() == before  # every call was answered by Redis, none failed open

        for node in nodes.values():
            node.close()
        guard.close()
        gc.collect()  # those sockets are reported here, under this test's filter, not at the end of the run
