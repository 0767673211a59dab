"""Stream slots (service/grpc/stream_slots.py): bounded in all and per key, each given back once, when its call ends."""

from __future__ import annotations

from collections.abc import Callable

from service.grpc.stream_slots import Slots


class Call:
    """The part of a grpc.ServicerContext a slot uses: callbacks run when the call ends."""

    def __init__(self, ended: bool = False) -> None:
        self.ended = ended
        self.callbacks: list[Callable[[], None]] = []

    def add_callback(self, callback: Callable[[], None]) -> bool:
        if self.ended:
            return False
        self.callbacks.append(callback)
        return True

    def end(self) -> None:
        self.ended = True
        for callback in self.callbacks:
            callback()


def test_slots_are_bounded_per_key_and_in_all_and_given_back_when_the_call_ends() -> None:
    slots = Slots(3, per_key=2)
    calls = [Call() for _ in range(3)]
    assert [slots.take(c, "alice") for c in calls[:2]] == [None, None]  # type: ignore[arg-type]
    assert slots.take(Call(), "alice") == "key"  # type: ignore[arg-type]
    assert slots.take(calls[2], "bob") is None  # type: ignore[arg-type]
    assert slots.take(Call(), "carol") == "total"  # type: ignore[arg-type]
    calls[0].end()
    assert slots.take(Call(), "carol") is None  # type: ignore[arg-type]


def test_a_call_that_has_already_ended_gives_its_slot_back_at_once() -> None:
    slots = Slots(1)
    assert slots.take(Call(ended=True)) is None  # type: ignore[arg-type]
    assert slots.take(Call()) is None  # type: ignore[arg-type]
    assert slots.take(Call()) == "key"  # type: ignore[arg-type]  # one bound only: the key's is the total's
