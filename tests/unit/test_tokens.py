"""Bearer tokens: what the verifier accepts and refuses, and the operator's `erp-orders token`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.runtime import auth_setup
from service.grpc.errors import Unauthenticated
from service.settings import Settings, SettingsError
from service.grpc.tokens import Identity, TokenVerifier, mint

SECRET = "a-secret-that-is-long-enough-123"


def test_a_minted_token_verifies_to_its_subject_and_roles() -> None:
    verifier = TokenVerifier(SECRET, "HS256")
    assert verifier.verify(mint(SECRET, "alice", ["orders.write", "orders.read"], 60)) == Identity(
        "alice", frozenset({"orders.write", "orders.read"})
    )


@pytest.mark.parametrize(
    "claims",
    [{"sub": "a", "exp": 1}, {"sub": "a"}, {"exp": 4102444800}, {"sub": "a", "exp": 4102444800, "roles": [1]}],
    ids=["expired", "no exp", "no sub", "roles not strings"],
)
def test_tokens_missing_claims_or_expired_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(SECRET, "HS256").verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_rs256_tokens_verify_with_the_public_key_and_hs256_ones_do_not() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    verifier = TokenVerifier(public_pem, "RS256")
    good = jwt.encode({"sub": "svc", "exp": 4102444800, "roles": ["orders.read", "orders.write"]}, private, algorithm="RS256")
    assert verifier.verify(good).roles == {"orders.read", "orders.write"}
    with pytest.raises(Unauthenticated):
        verifier.verify(mint(SECRET, "svc", [], 60))


def test_production_databases_need_a_configured_key() -> None:
    with pytest.raises(SettingsError, match="ORDERS_JWT_SECRET"):
        auth_setup.verifier(Settings(database_url="mysql+mysqldb://db/orders"))


def test_the_embedded_default_generates_one_secret_and_reuses_it(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'orders.db'}")
    first = auth_setup.signing_secret(settings)
    assert auth_setup.signing_secret(settings) == first
    assert (tmp_path / "orders.jwt-secret").stat().st_mode & 0o077 == 0


def test_the_token_command_mints_what_the_server_accepts(tmp_path: Path) -> None:
    env = {"ORDERS_JWT_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "service.runtime.cli", "token", "--sub", "alice", "--roles", "orders.read"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=tmp_path)
    identity = TokenVerifier(SECRET, "HS256").verify(result.stdout.strip())
    assert identity == Identity("alice", frozenset({"orders.read"}))


def test_the_token_command_refuses_unknown_roles(tmp_path: Path) -> None:
    env = {"ORDERS_JWT_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "service.runtime.cli", "token", "--sub", "a", "--roles", "orders.admin"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown roles ['orders.admin']" in result.stderr


def test_a_verified_token_is_remembered_but_still_expires() -> None:
    verifier = TokenVerifier(SECRET, "HS256")
    soon = jwt.encode({"sub": "a", "exp": int(time.time()) + 1}, SECRET, algorithm="HS256")
    assert verifier.verify(soon).principal == "a"
    verifier._verified[soon] = (Identity("a", frozenset()), time.time() - 60)  # as if it had expired since
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(soon)


def test_a_second_worker_reading_the_secret_while_the_first_writes_it_never_reads_it_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'orders.db'}")
    seen_by_the_second: list[str] = []
    generate = auth_setup.secrets.token_urlsafe

    def second_worker_starts_meanwhile(n: int) -> str:
        if not seen_by_the_second:
            seen_by_the_second.append("")  # only the first generation starts a second worker
            seen_by_the_second[0] = auth_setup.signing_secret(settings)
        return generate(n)

    monkeypatch.setattr(auth_setup.secrets, "token_urlsafe", second_worker_starts_meanwhile)
    first = auth_setup.signing_secret(settings)
    assert seen_by_the_second == [first]
    assert len(first) >= 32
    assert auth_setup.signing_secret(settings) == first
