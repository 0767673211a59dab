"""Logging: one JSON object per line (or, on a terminal, one readable line), carrying the current call's
request id, principal and trace id."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

from service import context as ctx

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
