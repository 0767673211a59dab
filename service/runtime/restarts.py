"""When the supervisor restarts a crashed worker, and when it gives up: a crash loop."""

from __future__ import annotations

from collections import deque

_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 10.0


class RestartPolicy:
    """`limit` crashes within `window_s` seconds is a crash loop; before that, each crash waits a
    backoff that doubles with the crashes in the window (0.5 s, 1 s, 2 s, … at most 10 s), so a
    worker that dies at once on start-up (a bad setting, the database refusing it) is not respawned
    in a tight loop, and a single crash is back within a second."""

    def __init__(self, limit: int, window_s: float) -> None:
        self._limit = limit
        self._window_s = window_s
        self._crashes: deque[float] = deque()

    def crashed(self, now: float) -> float | None:
        """Records a crash at `now` (monotonic seconds): the backoff before the restart, or None to give up."""
        self._crashes.append(now)
        while self._crashes[0] <= now - self._window_s:
            self._crashes.popleft()
        if len(self._crashes) >= self._limit:
            return None
        return min(_FIRST_BACKOFF_S * 2.0 ** (len(self._crashes) - 1), _MAX_BACKOFF_S)
