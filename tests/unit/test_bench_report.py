"""The benchmark's arithmetic: percentiles, merging windows, scenario selection and target verdicts."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import report, scenarios
from bench.loadgen import Raw
from bench.run import parallel, rounds, window
from bench.stats import Window, percentile, summarize


def _window(throughput: float, p99: float = 5.0, p50: float = 1.0) -> Window:
    return Window(10.0, int(throughput * 10), {"OK": int(throughput * 10)}, throughput, p50, 2.0, p99, p99, {})


def test_percentiles_are_nearest_rank() -> None:
    ordered = [float(i) for i in range(1, 101)]
    assert (percentile(ordered, 50), percentile(ordered, 99), percentile(ordered, 100)) == (50.0, 99.0, 100.0)
    assert percentile([], 99) == 0.0


def test_throughput_counts_only_successes_and_latencies_are_in_milliseconds() -> None:
    w = summarize(2.0, [1_000_000, 3_000_000], Counter({"OK": 2, "ABORTED": 1}), {})
    assert (w.ok, w.throughput, w.p50, w.max, w.statuses) == (2, 1.0, 1.0, 3.0, {"OK": 2, "ABORTED": 1})


def test_parallel_processes_add_client_cpu_and_rounds_average_cpu_over_time() -> None:
    a = Raw(5.0, [1_000_000], {"OK": 1}, {"server": 1.0, "client": 0.2})
    b = Raw(5.0, [2_000_000], {"OK": 1, "UNAVAILABLE": 1}, {"server": 1.0, "client": 0.3})
    both = parallel([a, b])
    assert (both.seconds, both.statuses, both.cpu) == (5.0, {"OK": 2, "UNAVAILABLE": 1}, {"server": 1.0, "client": 0.5})
    longer = Raw(15.0, [1_000_000] * 3, {"OK": 3}, {"server": 2.0, "client": 0.2})
    merged = window(rounds([a, longer]))
    assert (merged.seconds, merged.throughput, merged.cpu["server"]) == (20.0, 0.2, 1.75)


def test_scenario_groups_expand_in_canonical_order_and_unknown_keys_are_refused() -> None:
    curve = [f"g{c}{off}" for c in (1, 4, 16, 64, 256) for off in ("", "-off")]
    assert [s.key for s in scenarios.select(["g", "a", "e"])] == ["e10k", "e100k", "a", *curve]
    assert [s.key for s in scenarios.select(["b+", "a-off"])] == ["a-off", "b", "b-off"]
    assert not scenarios.BY_KEY["b-off"].batching and scenarios.BY_KEY["b-off"].hot
    with pytest.raises(ValueError, match="unknown scenarios"):
        scenarios.select(["z"])


def test_targets_are_judged_from_ratios_and_from_other_scenarios_of_the_same_run() -> None:
    by = {s.key: s for s in scenarios.ALL}
    outcomes = [
        report.Outcome(by["a"], _window(600), _window(2000)),
        report.Outcome(by["b"], _window(1300), _window(1000)),
        report.Outcome(by["d"], _window(2400, p99=8.0)),
        report.Outcome(by["e10k"], _window(300, p99=10.0)),
        report.Outcome(by["e100k"], _window(300, p99=20.0)),
        report.Outcome(by["f"], _window(800), _window(2000)),
    ]
    report.judge(outcomes)
    assert [o.met for o in outcomes] == [False, True, True, None, False, True]
    assert "| f: CreateOrder over REST (gateway), 1 random item |" in report.markdown(outcomes)


def test_concurrency_1_is_judged_on_p50_against_the_same_curve_point_with_batching_off() -> None:
    by = scenarios.BY_KEY
    on, off = report.Outcome(by["g1"], _window(300, p50=2.1)), report.Outcome(by["g1-off"], _window(300, p50=2.0))
    report.judge([on, off])
    assert on.met is True and on.verdict == "p50 1.05 × off"
    on.service = _window(300, p50=2.4)
    report.judge([on, off])
    assert on.met is False


def test_the_table_shows_the_mean_batch_and_the_batched_ceiling() -> None:
    outcome = report.Outcome(scenarios.BY_KEY["b"], _window(1500), _window(1000), batch_mean=6.4, batched_ceiling=_window(3000))
    row = report.markdown([outcome]).splitlines()[2]
    assert "| 1.50 | 6.4 | 3,000 (0.50) |" in row


def test_the_table_shows_the_spread_of_round_ratios_and_server_cpu_per_call() -> None:
    a = scenarios.BY_KEY["a"]
    busy = Window(10.0, 4000, {"OK": 4000}, 400.0, 1.0, 2.0, 5.0, 5.0, {"server": 1.2})
    outcome = report.Outcome(a, busy, _window(1000), round_ratios=[0.38, 0.42, 0.40])
    row = report.markdown([outcome]).splitlines()[2]
    assert "| 0.40 (0.38–0.42) |" in row
    assert "| 3.00 |" in row  # 1.2 server cores / 400 calls/s


def test_the_floor_is_judged_on_server_cpu_per_call_against_the_bare_server() -> None:
    health = scenarios.BY_KEY["h"]

    def measured(throughput: float, server_cores: float) -> Window:
        return Window(10.0, int(throughput * 10), {"OK": int(throughput * 10)}, throughput, 1.0, 2.0, 5.0, 5.0, {"server": server_cores})

    # 1.0 core for 1,000 calls/s (1.0 ms a call) against 0.8 core for 2,000 calls/s (0.4 ms a call): 2.5 ×.
    costly, lean = report.Outcome(health, measured(1000, 1.0), measured(2000, 0.8)), report.Outcome(health, measured(1000, 0.5), measured(2000, 0.8))
    report.judge([costly, lean])
    assert (costly.met, lean.met) == (False, True)
    assert "= 2.50 × bare" in costly.verdict and "calls/s 0.50 × bare" in costly.verdict


def test_the_outbox_is_priced_as_a_over_a_without_events_of_the_same_run() -> None:
    by = {s.key: s for s in scenarios.ALL}
    with_events, without = report.Outcome(by["a"], _window(600)), report.Outcome(by["a-noevents"], _window(750), note="n")
    report.price_the_outbox([with_events, without])
    assert (with_events.note, without.note) == ("", "n; a ÷ a-noevents = 0.80")
    assert [s.key for s in scenarios.select(["events"])] == ["a", "a-noevents"] and not by["a-noevents"].events


def test_the_amendment_scenario_is_noted_against_b_of_the_same_run_and_only_then() -> None:
    by = {s.key: s for s in scenarios.ALL}
    b, m = report.Outcome(by["b"], _window(400)), report.Outcome(by["m"], _window(300))
    report.compare([b, m])
    assert (b.note, m.note) == ("", "m ÷ b = 0.75")
    alone = report.Outcome(by["m"], _window(300))
    report.compare([alone])
    assert alone.note == "" and by["m"].hot and by["m"].rpc == "amend"
