"""Where the JWT key comes from: settings in production, a generated file for the embedded default."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from service.runtime import embedded
from service.settings import Settings, SettingsError
from service.grpc.tokens import TokenVerifier

log = logging.getLogger(__name__)


def verifier(settings: Settings) -> TokenVerifier | None:
    """The token verifier, or None when authentication is disabled."""
    if settings.auth == "disabled":
        log.warning(
            "!!! ORDERS_AUTH=disabled: every call runs as 'anonymous' with every role. "
            "For local development only; never expose this server. !!!"
        )
        return None
    if settings.jwt_public_key:
        return TokenVerifier(settings.jwt_public_key, "RS256", settings.jwt_audience, settings.jwt_issuer)
    return TokenVerifier(signing_secret(settings), "HS256", settings.jwt_audience, settings.jwt_issuer)


def signing_secret(settings: Settings) -> str:
    """The HS256 secret. On the embedded SQLite default, `erp-orders serve` generates one beside the
    database file on first use, so that it works with no configuration."""
    return settings.jwt_secret or _development_secret(_secret_file(settings))


def existing_signing_secret(settings: Settings) -> str:
    """The HS256 secret to mint tokens with. Never generated: a token signed with a new secret would
    only fail against the server's. Fails naming where it looked."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = _secret_file(settings)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise SettingsError(
            f"no JWT secret at {path}: `erp-orders serve` generates it beside its SQLite database "
            f"({settings.database_url}, relative to the directory it runs in); run this command in that "
            "directory, or set ORDERS_JWT_SECRET to the server's secret"
        ) from None


def _secret_file(settings: Settings) -> Path:
    path = embedded.secret_file(settings)
    if path is None:
        raise SettingsError(
            "set ORDERS_JWT_SECRET (or ORDERS_JWT_SECRET_FILE, or ORDERS_JWT_PUBLIC_KEY_FILE for RS256); "
            "ORDERS_AUTH=disabled is for local development only"
        )
    return path


def _development_secret(path: Path) -> str:
    """Written whole under a temporary name, then linked into place: a worker starting at the same
    time either finds no file (and races to link its own; one link wins) or the complete secret."""
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
            os.link(temporary, path)
            log.warning("generated a development JWT secret in %s (embedded mode only)", path)
        except FileExistsError:
            pass  # another worker linked its secret first: everyone uses that one
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


def resume_token_secrets(settings: Settings) -> list[str]:
    """The secrets WatchOrderEvents signs resume tokens with: the first signs, every one verifies.

    ORDERS_WATCH_TOKEN_SECRET (comma-separated, newest first), else the HS256 secret. An RS256
    deployment has no shared secret, so it must set one; with authentication disabled and no secret
    at all, a random one per process (its tokens resume only on that process).
    """
    if settings.watch_token_secret:
        return [s for s in settings.watch_token_secret.split(",") if s]
    if settings.jwt_public_key:
        raise SettingsError("ORDERS_JWT_PUBLIC_KEY needs ORDERS_WATCH_TOKEN_SECRET: the key that signs resume tokens")
    try:
        return [signing_secret(settings)]
    except SettingsError:
        if settings.auth != "disabled":
            raise
        log.warning("no ORDERS_WATCH_TOKEN_SECRET or ORDERS_JWT_SECRET: resume tokens resume only on the process that issued them")
        return [secrets.token_urlsafe(32)]
