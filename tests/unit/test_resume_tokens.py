"""Resume tokens: signed positions; a rotated secret still verifies the tokens it signed."""

from __future__ import annotations

from service.resume_tokens import Signer


def test_a_token_names_its_position_only_to_a_signer_that_holds_its_key() -> None:
    token = Signer(["old"]).token(42)
    assert Signer(["old"]).position(token) == 42
    assert Signer(["new"]).position(token) is None


def test_after_a_rotation_the_new_secret_signs_and_the_old_one_still_verifies() -> None:
    old_token, rotated = Signer(["old"]).token(7), Signer(["new", "old"])
    assert rotated.position(old_token) == 7
    assert Signer(["new"]).position(rotated.token(8)) == 8
