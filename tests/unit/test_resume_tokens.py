"""Resume tokens: signed positions; a rotated secret still verifies the tokens it signed."""

from __future__ import annotations

import pytest

from service.runtime.auth_setup import resume_token_secrets
from service.events.resume_tokens import Signer
from service.settings import Settings, SettingsError


def test_a_token_names_its_position_only_to_a_signer_that_holds_its_key() -> None:
    token = Signer(["old"]).token(42)
    assert Signer(["old"]).position(token) == 42
    assert Signer(["new"]).position(token) is None


def test_after_a_rotation_the_new_secret_signs_and_the_old_one_still_verifies() -> None:
    old_token, rotated = Signer(["old"]).token(7), Signer(["new", "old"])
    assert rotated.position(old_token) == 7
    assert Signer(["new"]).position(rotated.token(8)) == 8


def test_the_secrets_are_the_watch_token_secret_else_the_jwt_secret_and_rs256_needs_its_own() -> None:
    assert resume_token_secrets(Settings(watch_token_secret="new,old", jwt_secret="jwt")) == ["new", "old"]
    assert resume_token_secrets(Settings(jwt_secret="jwt")) == ["jwt"]
    with pytest.raises(SettingsError, match="ORDERS_JWT_PUBLIC_KEY needs ORDERS_WATCH_TOKEN_SECRET"):
        resume_token_secrets(Settings(jwt_public_key="-----BEGIN PUBLIC KEY-----"))
