"""Opaque page tokens (AIP-158): the keyset position, bound to the filters it was issued for."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from service.domain.errors import FieldViolation, InvalidArgument
from service.domain.model import Page, PageResult
from service.grpc import base64url

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_of(request: Message) -> Page:
    """The page a List request asks for. Raises InvalidArgument for a bad or mismatched token."""
    # Message declares neither field; every List request has both.
    size = getattr(request, "page_size") or DEFAULT_PAGE_SIZE  # noqa: B009
    token: str = getattr(request, "page_token")  # noqa: B009
    return Page(min(size, MAX_PAGE_SIZE), _decode(token, _filters(request)) if token else None)


def next_token(request: Message, after: str | None) -> str:
    if after is None:
        return ""
    raw = json.dumps({"a": after, "f": _filters(request)}, separators=(",", ":")).encode()
    return base64url.encode(raw)


class _Keyed(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Keyed)
M = TypeVar("M", bound=Message)

# Room in a response for everything but its items: the next_page_token (about 80 bytes) and tags.
_RESPONSE_ROOM_BYTES = 1024
# Per repeated entry on the wire: a one-byte tag and a length of at most five bytes.
_ENTRY_BYTES = 6


class Pager:
    """Turns a page of items into a List response's items and next_page_token, within the response
    size limit: a page stops before the item that would take the response over it (AIP-158 allows
    fewer items than page_size), and its token resumes right after the last item sent."""

    def __init__(self, max_response_bytes: int) -> None:
        self._budget = max_response_bytes - _RESPONSE_ROOM_BYTES

    def fit(
        self, request: Message, result: PageResult[T], to_message: Callable[[T], M], key: Callable[[T], str] = lambda item: item.id
    ) -> tuple[list[M], str]:
        """`key` is an item's keyset position, what the repository's `Page.after` takes: its id by default."""
        messages: list[M] = []
        size = 0
        for item in result.items:
            message = to_message(item)
            size += message.ByteSize() + _ENTRY_BYTES
            if messages and size > self._budget:  # one item alone always goes: a page is never empty
                return messages, next_token(request, key(result.items[len(messages) - 1]))
            messages.append(message)
        return messages, next_token(request, result.next_after)


def _filters(request: Message) -> str:
    # Everything but the paging fields: a token is only valid with the filters it was made for.
    rest = type(request)()
    rest.CopyFrom(request)
    rest.ClearField("page_token")
    rest.ClearField("page_size")
    return hashlib.sha256(rest.SerializeToString(deterministic=True)).hexdigest()[:16]


def _decode(token: str, filters: str) -> str:
    try:
        data = json.loads(base64url.decode(token))
        after, made_for = data["a"], data["f"]
        if not isinstance(after, str) or not isinstance(made_for, str):
            raise ValueError(token)
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument([FieldViolation("page_token", "is not a token this service issued", "INVALID_PAGE_TOKEN")]) from None
    if made_for != filters:
        raise InvalidArgument([FieldViolation("page_token", "was issued for different filters", "PAGE_TOKEN_FILTER_MISMATCH")])
    return after
