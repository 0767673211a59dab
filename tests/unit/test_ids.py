"""Order ids made by the service: unique, ascending, time first."""

from __future__ import annotations

from storage.ids import IdSource


def test_ids_ascend_and_stay_unique_past_a_millisecond_s_numbers_and_a_clock_step_back() -> None:
    now = [1000]
    source = IdSource(node=5, clock_ms=lambda: now[0])
    first = source.take(5000)  # more than one millisecond holds: the next one is borrowed
    now[0] = 999  # the wall clock steps back
    later = source.take(10)
    ids = first + later
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    ms = sorted({i >> 22 for i in first})
    assert ms == list(range(1000, 1000 + len(ms))) and len(ms) in (2, 3)  # at least 2,048 ids a millisecond
    assert all(i >> 22 >= ms[-1] for i in later)
    assert {(i >> 12) & 1023 for i in ids} == {5}
    assert all(0 < i < 2**63 for i in ids)


def test_a_later_millisecond_gives_a_larger_id_whatever_the_node() -> None:
    early = IdSource(node=1023, clock_ms=lambda: 1000).take(1)[0]
    late = IdSource(node=0, clock_ms=lambda: 1001).take(1)[0]
    assert late > early
