"""The combiner: opportunistic batches, bounded, run on a caller's thread, every caller answered."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.usecases.combiner import Combiner
from tests.helpers import HeldCombiner, until


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.threads: list[str] = []
        self.fail = fail

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        self.threads.append(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("the batch failed")
        return [i * 10 for i in items]


def _submit_held(combiner: HeldCombiner[int, int], items: list[int]) -> list[object]:
    """Submits the items in this order while the combiner is held, then lets them go."""
    combiner.hold()
    with ThreadPoolExecutor(len(items), thread_name_prefix="caller") as pool:
        futures = []
        for i, item in enumerate(items):
            if i:
                until(lambda queued=i: combiner.waiting() >= queued, "the call before is queued", every=0.005)
            futures.append(pool.submit(combiner.submit, item))
        combiner.let_go(len(items))
        return [f.exception() or f.result() for f in futures]


def test_a_lone_call_is_a_batch_of_one_run_on_its_own_thread() -> None:
    run = Recorder()
    combiner: Combiner[int, int] = Combiner(run, 8, 100, lambda _: 1)
    assert combiner.submit(7) == 70
    assert run.batches == [[7]] and run.threads == [threading.current_thread().name]


def test_calls_waiting_for_the_writer_form_the_next_batches_within_the_caps() -> None:
    run = Recorder()
    combiner: HeldCombiner[int, int] = HeldCombiner(run, 3, 5, lambda i: i)
    assert _submit_held(combiner, [1, 1, 1, 1, 4, 9]) == [10, 10, 10, 10, 40, 90]
    # At most 3 items and a weight of 5 per batch; an item heavier than the cap runs alone.
    assert run.batches == [[1, 1, 1], [1, 4], [9]]


def test_every_caller_of_a_failed_batch_gets_its_error_and_the_next_batch_still_runs() -> None:
    run = Recorder(fail=True)
    combiner: HeldCombiner[int, int] = HeldCombiner(run, 2, 100, lambda _: 1)
    results = _submit_held(combiner, [1, 2, 3])
    assert [str(r) for r in results] == ["the batch failed"] * 3
    assert run.batches == [[1, 2], [3]]
    run.fail = False
    assert combiner.submit(4) == 40


def test_writers_bound_the_batches_in_flight() -> None:
    inside, most = [0], [0]
    guard, release = threading.Lock(), threading.Event()

    def run(items: list[int]) -> list[int]:
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        release.wait(10)
        with guard:
            inside[0] -= 1
        return items

    combiner: Combiner[int, int] = Combiner(run, 1, 100, lambda _: 1, writers=2)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(combiner.submit, i) for i in range(6)]
        until(lambda: combiner.waiting() == 4, "four calls wait behind the two writers", every=0.005)
        release.set()
        assert sorted(f.result() for f in futures) == list(range(6))
    assert most[0] == 2


@pytest.mark.parametrize("n", [1, 2])
def test_a_lone_call_is_answered_whatever_the_cap(n: int) -> None:
    combiner: Combiner[int, int] = Combiner(Recorder(), n, 10, lambda _: 1)
    assert combiner.submit(1) == 10
