"""Authenticates the bearer token and checks the method's role, before anything else runs; a method
without a policy is refused to everyone."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health

from service.grpc import context as ctx
from service import metrics
from service.grpc.auth_throttle import KIND, FailureThrottle
from service.grpc.errors import NoPolicy, PermissionDenied, RateLimited, Unauthenticated
from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor
from service.grpc.methods import METHODS
from service.grpc.tokens import Identity, TokenVerifier

_HEALTH = f"/{health.SERVICE_NAME}/"


class AuthInterceptor(UnaryInterceptor):
    """With no verifier (ORDERS_AUTH=disabled) every call runs as `anonymous` with all roles.

    Failed authentications are throttled per peer (`throttle`) before anything else is done: the
    rate limit of the next step needs a principal, which a failed call does not have.
    """

    def __init__(self, verifier: TokenVerifier | None, throttle: FailureThrottle) -> None:
        self._verifier = verifier
        self._throttle = throttle

    def applies(self, method: str) -> bool:
        # Health stays open, so probes need no token; reflection, a stream, never meets the chain,
        # so `grpcurl list/describe` need none either.
        return not method.startswith(_HEALTH)

    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        policy = METHODS.get(method)
        if policy is None:
            raise NoPolicy(method)  # deny by default, before the token is even read
        identity = ctx.ANONYMOUS if self._verifier is None else self._authenticate(self._verifier, context)
        role = policy.role
        # Permission before existence: a caller without the role learns nothing about the resource.
        if role not in identity.roles:
            raise PermissionDenied(identity.principal, role)
        if (current := ctx.call.get()) is not None:
            current.principal = identity.principal
        token = ctx.identity.set(identity)
        try:
            return proceed(request, context)
        finally:
            ctx.identity.reset(token)

    def _authenticate(self, verifier: TokenVerifier, context: grpc.ServicerContext) -> Identity:
        peer = ctx.peer_address(context)
        try:
            self._throttle.check(peer)
            try:
                return verifier.verify(self._bearer(context))
            except Unauthenticated:
                self._throttle.failed(peer)
                raise
        except RateLimited:
            metrics.RATE_LIMITED.labels(KIND).inc()
            raise

    @staticmethod
    def _bearer(context: grpc.ServicerContext) -> str:
        headers = [str(value) for name, value in context.invocation_metadata() if name == "authorization"]
        if len(headers) > 1:
            # Proxies and servers disagree on which of two to use; the caller must mean one.
            raise Unauthenticated(f"send one authorization header, not {len(headers)}")
        header = headers[0] if headers else ""
        if not header:
            raise Unauthenticated("missing authorization metadata")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("authorization must be 'Bearer <token>'")
        return token.strip()
