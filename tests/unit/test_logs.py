"""Tests for service.runtime.logs: readable lines on a terminal, JSON lines elsewhere, and the setting that chooses."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import TextIO

import pytest

from service.runtime.logs import JsonFormatter, TextFormatter, formatter


@pytest.fixture
def terminal() -> Iterator[TextIO]:
    """A real pseudo-terminal's end, as a process started from a shell has for stderr."""
    leader, follower = os.openpty()
    with open(follower, "w") as stream:
        yield stream
    os.close(leader)


def _record(message: str = "relay: started", **rpc: object) -> logging.LogRecord:
    record = logging.getLogger("service.events.relay").makeRecord("service.events.relay", logging.INFO, __file__, 1, message, (), None)
    if rpc:
        record.rpc = rpc
    return record


def test_auto_writes_text_on_a_terminal_and_json_to_a_file_or_pipe(terminal: TextIO) -> None:
    assert isinstance(formatter("auto", terminal), TextFormatter)
    assert isinstance(formatter("auto", io.StringIO()), JsonFormatter)


def test_the_setting_overrides_what_the_stream_is(terminal: TextIO) -> None:
    assert isinstance(formatter("json", terminal), JsonFormatter)
    assert isinstance(formatter("text", io.StringIO()), TextFormatter)


def test_a_text_line_reads_as_time_level_logger_message_then_the_calls_fields() -> None:
    line = TextFormatter().format(_record("rpc", method="/erp.orders.v1.OrderService/GetOrder", code="NOT_FOUND", request_id="req-1", trace_id=None))
    assert line.endswith("INFO    service.events.relay: rpc  method=/erp.orders.v1.OrderService/GetOrder code=NOT_FOUND request_id=req-1")
    assert "{" not in line and "trace_id" not in line


def test_a_json_line_is_one_object_with_the_same_fields() -> None:
    line = json.loads(JsonFormatter().format(_record("rpc", code="OK", request_id="req-2")))
    assert {k: line[k] for k in ("level", "logger", "message", "code", "request_id")} == {
        "level": "info", "logger": "service.events.relay", "message": "rpc", "code": "OK", "request_id": "req-2",
    }
