"""Key names and cluster URLs of service/redis/guard.py, without a server."""

from __future__ import annotations

from redis.crc import key_slot

from service.redis.guard import cluster_seeds, slot_key


def test_a_key_hashes_to_its_tags_slot_whatever_the_prefix_and_name() -> None:
    scope = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    keys = [slot_key("erp-orders:", "idem:", scope), slot_key("other:", "", scope), slot_key("erp-orders:", "x:", scope)]
    assert keys[0] == "erp-orders:idem:{" + scope + "}"
    assert {key_slot(k.encode()) for k in keys} == {key_slot(scope.encode())}


def test_different_subjects_spread_over_the_slots() -> None:
    slots = {key_slot(slot_key("erp-orders:", "", f"rl:write:sub:user-{i}").encode()) for i in range(100)}
    assert len(slots) > 90  # the prefix is not a tag: keys do not pile up on one node


def test_a_cluster_url_keeps_credentials_and_options_on_the_first_seed() -> None:
    first, others = cluster_seeds("rediss+cluster://app:s3cret@r1:7000,r2:7001,[::1]:7002/0?ssl_cert_reqs=none")
    assert first == "rediss://app:s3cret@r1:7000/0?ssl_cert_reqs=none"
    assert [(n.host, n.port) for n in others] == [("r2", 7001), ("::1", 7002)]
