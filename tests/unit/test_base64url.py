"""The unpadded base64url of page and resume tokens (service/grpc/base64url.py)."""

from __future__ import annotations

import pytest

from service.grpc import base64url


@pytest.mark.parametrize("raw", [b"", b"a", b"ab", b"abc", bytes(range(256))])
def test_a_token_has_no_padding_and_no_characters_a_url_escapes_and_reads_back(raw: bytes) -> None:
    text = base64url.encode(raw)
    assert not set(text) & set("=+/") and base64url.decode(text) == raw


@pytest.mark.parametrize("text", ["a", "abcde", "ab cd", "ab\ncd", "abé", "ab=c"])
def test_text_that_is_not_base64_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        base64url.decode(text)
