"""What `serve` prints once it listens: where to reach gRPC, REST and the docs, as addresses to paste."""

from __future__ import annotations

from service.settings import Settings

# Listening on every interface: a person on this machine reaches it as localhost.
_EVERYWHERE = {"", "0.0.0.0", "[::]", "::"}


def addresses(settings: Settings, grpc_port: int, http_port: int) -> str:
    grpc_host = _reachable(settings.grpc_host)
    http = f"{'https' if settings.tls_cert_file else 'http'}://{_reachable(settings.http_host)}:{http_port}"
    plaintext = "" if settings.tls_cert_file else "-plaintext "
    return "\n".join([
        f"gRPC  {grpc_host}:{grpc_port}  (grpcurl {plaintext}{grpc_host}:{grpc_port} list)",
        f"REST  {http}/v1/orders",
        f"docs  {http}/docs  (OpenAPI: {http}/openapi.json)",
    ])


def _reachable(host: str) -> str:
    return "localhost" if host in _EVERYWHERE else host
