"""Logging: one JSON object per line (or, on a terminal, one readable line), carrying the current call's
request id, principal and trace id."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from service.grpc import context as ctx

# One encoder for every line: json.dumps(..., default=str) builds a new JSONEncoder per call.
_ENCODER = json.JSONEncoder(default=str)


def _fields(record: logging.LogRecord) -> dict[str, object]:
    """The access log's call fields, or the current call's ids for any other line logged during a call."""
    fields: dict[str, object] = dict(getattr(record, "rpc", {}))
    call = ctx.call.get()
    if call is not None and "request_id" not in fields:
        fields.update(call.log_fields())
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = (-1, "")  # the last whole second formatted, and its text: most lines share it

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(line)

    def _time(self, created: float) -> str:
        """ISO 8601 in UTC with milliseconds, e.g. 2026-12-03T13:28:24.123+00:00."""
        second, text = self._second
        whole = int(created)
        if whole != second:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
            self._second = (whole, text)  # one tuple, swapped whole: safe across threads
        return f"{text}.{int((created - whole) * 1000):03d}+00:00"


class TextFormatter(logging.Formatter):
    """For a person at a terminal: local time, level, logger, message, then the call's fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items() if value is not None)
        if not fields:
            return text
        head, newline, rest = text.partition("\n")  # after the message, before a traceback
        return f"{head}  {fields}{newline}{rest}"


def formatter(log_format: str, stream: TextIO) -> logging.Formatter:
    """`auto`: readable text on a terminal, JSON lines otherwise (a file, a pipe, a container's log)."""
    text = log_format == "text" or (log_format == "auto" and stream.isatty())
    return TextFormatter() if text else JsonFormatter()


def configure(level: str = "INFO", log_format: str = "auto") -> None:
    # No line of ours shows the caller's file and line, the thread or the process, so each record
    # skips looking them up (the logging HOWTO's "Optimization"): the access log writes one per call.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format, sys.stderr))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic's INFO lines are its own setup chatter (plugins, DDL mode) on every start; the CLI says
    # what a migration changed.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


class RateLimit(logging.Filter):
    """Lets at most `lines` records of a logger through per `interval_s`. The first record let
    through after an interval that dropped some is preceded by one warning saying how many: a flood
    of connection errors costs a few lines, not megabytes."""

    def __init__(self, lines: int, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._lines = lines
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._until = 0.0  # the end of the current interval, on `clock`
        self._passed = self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "suppressed", None) is not None:
            return True  # our own summary line
        with self._lock:
            now = self._clock()
            dropped = 0
            if now >= self._until:
                dropped, self._until, self._passed, self._dropped = self._dropped, now + self._interval_s, 0, 0
            if self._passed >= self._lines:
                self._dropped += 1
                return False
            self._passed += 1
        if dropped:
            logging.getLogger(record.name).warning(
                "suppressed %d log lines of %s (at most %d per %g s)", dropped, record.name, self._lines, self._interval_s,
                extra={"suppressed": dropped},
            )
        return True


def rate_limit(names: tuple[str, ...], lines: int, interval_s: float) -> None:
    """Puts a RateLimit on each named logger, in place of one put there before."""
    for name in names:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RateLimit)]:
            logger.removeFilter(old)
        logger.addFilter(RateLimit(lines, interval_s))
