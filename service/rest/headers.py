"""HTTP headers ↔ gRPC metadata: what is forwarded, the deadline, the request id, and headers from metadata."""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from google.rpc import code_pb2

from service.grpc.context import CLIENT_ADDRESS_KEY
from service.rest.http_errors import refuse

# HTTP header (lower case) → metadata key. Nothing else is forwarded, apart from Grpc-Metadata-*.
FORWARDED: dict[bytes, str] = {
    b"authorization": "authorization",
    b"idempotency-key": "idempotency-key",
    b"traceparent": "traceparent",
}
_PASSTHROUGH = b"grpc-metadata-"
_REQUEST_ID = b"x-request-id"
_TIMEOUT = b"grpc-timeout"
_VALID_KEY = re.compile(r"[0-9a-z_.-]+")
_REQUEST_ID_CHARS = re.compile(r"[\x21-\x7e]{1,128}")
_PRINTABLE = re.compile(rb"[\x20-\x7e]*")
_TIMEOUT_VALUE = re.compile(r"([0-9]{1,8})([HMSmun])")
_UNIT_S = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
# The longest deadline a call gets. A valid but huge Grpc-Timeout (8 digits of hours) overflows
# gRPC's nanosecond clock and expires at once; no call here needs more than a day.
MAX_TIMEOUT_S = 86_400.0
# What the forwarded metadata may weigh, counted as HTTP/2 does (name + value + 32 per entry).
# gRPC refuses a call at random above 8 KiB of headers and always above 16 KiB, as
# RESOURCE_EXHAUSTED; this leaves a kilobyte for gRPC's own headers and answers 431 instead.
MAX_METADATA_BYTES = 7 * 1024
_REPLAYED = "idempotent-replayed"
_REPLAYED_HEADER = (b"idempotent-replayed", b"true")

Metadata = list[tuple[str, str | bytes]]


@dataclass(frozen=True)
class Incoming:
    metadata: Metadata
    request_id: str
    timeout_s: float
    content_type: bytes
    content_length: int | None


def incoming(headers: Iterable[tuple[bytes, bytes]], default_timeout_s: float, client_address: str = "") -> Incoming:
    """One pass over the ASGI headers (names already lower case). Raises GatewayError (400) on a bad value.

    `client_address` is forwarded, so that the server throttles each HTTP client, not the gateway."""
    metadata: Metadata = []
    request_id, timeout_s, content_type, content_length = "", default_timeout_s, b"", None
    for name, raw in headers:
        if name in FORWARDED:
            metadata.append((FORWARDED[name], _ascii(name, raw)))
        elif name.startswith(_PASSTHROUGH):
            key, value = _passthrough(name[len(_PASSTHROUGH) :].decode("latin-1"), raw)
            if key != "x-request-id":  # the gateway's request id wins, so logs and the response agree
                metadata.append((key, value))
        elif name == _REQUEST_ID:
            request_id = raw.decode("latin-1") if _REQUEST_ID_CHARS.fullmatch(raw.decode("latin-1")) else ""
        elif name == _TIMEOUT:
            timeout_s = parse_timeout(raw.decode("latin-1"))
        elif name == b"content-type":
            content_type = raw
        elif name == b"content-length":
            content_length = int(raw) if raw.isdigit() else None
    request_id = request_id or new_request_id()
    metadata.append(("x-request-id", request_id))
    if sum(len(key) + len(value) + 32 for key, value in metadata) > MAX_METADATA_BYTES:
        raise refuse(
            code_pb2.RESOURCE_EXHAUSTED, "HEADERS_TOO_LARGE",
            f"the forwarded headers (Authorization, Idempotency-Key, traceparent, Grpc-Metadata-*) exceed {MAX_METADATA_BYTES} bytes",
            http_status=431,
        )
    if client_address:
        metadata.append((CLIENT_ADDRESS_KEY, client_address))
    return Incoming(metadata, request_id, timeout_s, content_type, content_length)


def new_request_id() -> str:
    # 32 hex digits as uuid4().hex gave, but from the process's PRNG: an id must be unique, not
    # secret, and os.urandom's system call was 3 % of the gateway's CPU per request.
    return f"{random.getrandbits(128):032x}"


def parse_timeout(value: str) -> float:
    """A gRPC wire-format timeout ("100m", "2S") in seconds, at most MAX_TIMEOUT_S."""
    found = _TIMEOUT_VALUE.fullmatch(value)
    if found is None:
        raise _bad("Grpc-Timeout", "expected digits then one of H M S m u n, e.g. 500m")
    return min(int(found.group(1)) * _UNIT_S[found.group(2)], MAX_TIMEOUT_S)


def outgoing(*metadata: Iterable[tuple[str, str | bytes]] | None) -> list[tuple[bytes, bytes]]:
    """Response headers from the call's initial and trailing metadata (X-Request-Id is the app's, on every response)."""
    if any(key == _REPLAYED and value == "true" for md in metadata for key, value in md or ()):
        return [_REPLAYED_HEADER]
    return []


def _passthrough(key: str, raw: bytes) -> tuple[str, str | bytes]:
    # gRPC reserves grpc-* keys; binary (-bin) values travel base64-encoded in HTTP.
    if not _VALID_KEY.fullmatch(key) or key.startswith("grpc-") or key == CLIENT_ADDRESS_KEY:
        raise _bad(f"Grpc-Metadata-{key}", "not a metadata key a client may set")
    if key.endswith("-bin"):
        try:
            return key, base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise _bad(f"Grpc-Metadata-{key}", "binary metadata must be base64") from None
    return key, _ascii(f"grpc-metadata-{key}".encode(), raw)


def _ascii(name: bytes, raw: bytes) -> str:
    # gRPC refuses metadata values outside printable ASCII; say so as a 400, not a failed call.
    if not _PRINTABLE.fullmatch(raw):
        raise _bad(name.decode("latin-1"), "only printable ASCII is allowed")
    return raw.decode("ascii")


def _bad(header: str, description: str) -> Exception:
    return refuse(code_pb2.INVALID_ARGUMENT, "INVALID_HEADER", f"invalid header {header}: {description}", [(header, description)])
