"""TLS, decided in one place: the gRPC server's and gateway's certificates, and the gateway's channel."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import grpc

from service.settings import Settings


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def enabled(settings: Settings) -> bool:
    return bool(settings.tls_cert_file)


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """With a client CA, clients must present a certificate it signed (mTLS)."""
    if not enabled(settings):
        return None
    ca = _read(settings.tls_client_ca_file) if settings.tls_client_ca_file else None
    pair = (_read(settings.tls_key_file), _read(settings.tls_cert_file))
    return grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=ca is not None)


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """How the gateway (and `erp-orders health`) reach the gRPC server. The server is trusted through
    ORDERS_GATEWAY_TLS_CA_FILE; our own certificate is presented too, for servers that require mTLS."""
    if not settings.gateway_tls_ca_file:
        return None
    own = (_read(settings.tls_key_file), _read(settings.tls_cert_file)) if enabled(settings) else (None, None)
    return grpc.ssl_channel_credentials(_read(settings.gateway_tls_ca_file), own[0], own[1])


def channel_options(settings: Settings) -> list[tuple[str, Any]]:
    # Loopback calls dial 127.0.0.1; the certificate may name the service instead.
    name = settings.gateway_tls_server_name
    return [("grpc.ssl_target_name_override", name), ("grpc.default_authority", name)] if name else []


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    if not enabled(settings):
        return {}
    options: dict[str, Any] = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file}
    if settings.tls_client_ca_file:
        options |= {"ssl_ca_certs": settings.tls_client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options
