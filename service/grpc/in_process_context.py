"""The grpc.ServicerContext of a call made inside this process (service/grpc/dispatch.py).

It covers exactly what the interceptors and servicers use on a unary call, with grpcio's
semantics: abort raises after setting the status, initial metadata goes once, the time remaining
never goes below zero and the call stops being active at its deadline. Streams keep the channel,
so nothing here serves them (no callbacks, no cancel).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import grpc

from service.grpc.context import IN_PROCESS_PEER

Metadata = tuple[tuple[str, str | bytes], ...]


class Aborted(Exception):
    """What abort() raises: the status is already set on the context, as with grpcio's own abort."""


class InProcessContext:
    """One per call. `deadline` is a time.monotonic() instant; `metadata` is what a client would send."""

    def __init__(self, metadata: Sequence[tuple[str, str | bytes]], deadline: float | None) -> None:
        self._metadata: Metadata = tuple(metadata)
        self._deadline = deadline
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._initial: Metadata | None = None
        self._trailing: Metadata | None = None

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return IN_PROCESS_PEER

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(self._deadline - time.monotonic(), 0.0)

    def is_active(self) -> bool:
        return self._deadline is None or time.monotonic() < self._deadline

    def send_initial_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        if self._initial is not None:
            raise ValueError("Initial metadata no longer allowed!")  # grpcio's words
        self._initial = tuple(metadata)

    def initial_metadata(self) -> Metadata:
        return self._initial or ()

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self._trailing = tuple(metadata)

    def trailing_metadata(self) -> Metadata | None:
        return self._trailing

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details
        raise Aborted()

    def abort_with_status(self, status: Any) -> None:  # a grpc.Status: code, details, trailing_metadata
        self.set_trailing_metadata(status.trailing_metadata)
        self.abort(status.code, status.details)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def set_details(self, details: str) -> None:
        self._details = details

    def details(self) -> str:
        return self._details
