"""The Jepsen export: creates become set-full :add operations in history order, then one final :read."""

from __future__ import annotations

from chaos.elle import edn, jepsen_ops


def test_creates_become_adds_and_the_database_becomes_the_final_read() -> None:
    events = [
        {"type": "invoke", "f": "create", "key": "k1", "process": 0, "time": 0.5},
        {"type": "invoke", "f": "cancel", "key": "k9", "process": 1, "time": 0.6},
        {"type": "info", "f": "create", "key": "k1", "process": 0, "time": 1.0},
        {"type": "nemesis", "f": "flush-redis", "value": "FLUSHDB", "time": 1.1},
    ]
    ops = jepsen_ops(events, ["k1"])
    assert [(op["type"], op["f"], op["value"]) for op in ops] == [
        ("invoke", "add", "k1"), ("info", "add", "k1"), ("invoke", "read", None), ("ok", "read", ["k1"]),
    ]
    assert [op["index"] for op in ops] == [0, 1, 2, 3]
    assert ops[0]["time"] == 500_000_000 and ops[2]["time"] > ops[1]["time"]


def test_edn_uses_keywords_for_type_and_f_and_a_set_for_the_read() -> None:
    assert edn({"type": "ok", "f": "read", "value": ["a", "b"], "process": -1}) == '{:type :ok :f :read :value #{"a" "b"} :process -1}'
    assert edn({"type": "invoke", "f": "read", "value": None}) == "{:type :invoke :f :read :value nil}"
