"""The errors of the service's edge: raised by the interceptors and the stream servicer, before,
around or instead of a use case. Each declares its status once, as the domain's errors do
(service/domain/errors.py); service/grpc/status.py turns any of them into a gRPC status.

    OrdersError (the domain's base)
    ├── Unauthenticated            UNAUTHENTICATED     no, expired or badly signed token
    ├── PermissionDenied           PERMISSION_DENIED   the token lacks the method's role
    │   └── NoPolicy                                   the method declares no policy: denied by default
    ├── RateLimited                RESOURCE_EXHAUSTED  over the limit; RetryInfo says when to retry
    │   ├── TooManyStreams                             every slot for streams that need no token is taken
    │   ├── TooManyWatchers                            every WatchOrderEvents slot of this process is taken
    │   └── TooManyWatchersOfPrincipal                 the principal holds its share of those slots
    ├── IdempotencyKeyInUse        ABORTED             the first call with this key is still running
    ├── WatchTooSlow               ABORTED             a watcher overflowed its queue; resume from its token
    ├── ResumeTokenExpired         FAILED_PRECONDITION a watch token older than the event retention
    └── InvalidArgument (domain)
        ├── MalformedRequest                           the bytes do not parse as the request message
        └── InvalidIdempotencyKey                      not 1-255 printable ASCII characters
"""

from __future__ import annotations

from service.domain.errors import Code, FieldViolation, InvalidArgument, OrdersError


class Unauthenticated(OrdersError):
    code = Code.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"

    def __init__(self, why: str) -> None:
        super().__init__(f"authentication failed: {why}")


class PermissionDenied(OrdersError):
    code = Code.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"

    def __init__(self, principal: str, role: str) -> None:
        super().__init__(f"{principal!r} lacks the role {role!r}", principal=principal, role=role)


class NoPolicy(PermissionDenied):
    reason = "NO_POLICY"

    def __init__(self, method: str) -> None:
        OrdersError.__init__(self, f"{method} declares no policy, so nobody may call it", method=method)


class RateLimited(OrdersError):
    code = Code.RESOURCE_EXHAUSTED
    reason = "RATE_LIMITED"

    def __init__(self, method_class: str, retry_after_s: float) -> None:
        super().__init__(f"too many {method_class} calls; retry in {retry_after_s:.3f} s", method_class=method_class)
        self.retry_after_s = retry_after_s


class TooManyStreams(RateLimited):
    reason = "TOO_MANY_STREAMS"

    def __init__(self) -> None:
        super().__init__("unauthenticated stream (reflection, health Watch)", 1.0)


class TooManyWatchers(RateLimited):
    reason = "TOO_MANY_WATCHERS"

    def __init__(self) -> None:
        super().__init__("WatchOrderEvents stream", 1.0)


class IdempotencyKeyInUse(OrdersError):
    code = Code.ABORTED
    reason = "IDEMPOTENCY_KEY_IN_USE"
    retry_after_s = 0.5

    def __init__(self) -> None:
        super().__init__("a request with this idempotency key is still in progress; retry shortly")


class WatchTooSlow(OrdersError):
    """A watcher read more slowly than events arrived and overflowed its queue: resume from the token."""

    code = Code.ABORTED
    reason = "WATCH_TOO_SLOW"
    retry_after_s = 0.05  # reconnecting at once is right: the stream resumes from the token

    def __init__(self, resume_token: str) -> None:
        super().__init__("the stream fell too far behind; reconnect with resume_token", resume_token=resume_token)


class ResumeTokenExpired(OrdersError):
    code = Code.FAILED_PRECONDITION
    reason = "RESUME_TOKEN_EXPIRED"

    def __init__(self, retention_s: float) -> None:
        super().__init__(
            f"the resume token is older than the event retention ({retention_s:g} s); watch from now and re-read state",
            retention_s=f"{retention_s:g}",
        )


class MalformedRequest(InvalidArgument):
    def __init__(self, message_type: str) -> None:
        violation = FieldViolation("", f"the request is not a serialized {message_type}", "MALFORMED_REQUEST")
        super().__init__([violation], reason="MALFORMED_REQUEST")


class InvalidIdempotencyKey(InvalidArgument):
    def __init__(self) -> None:
        violation = FieldViolation("idempotency-key", "must be 1 to 255 printable ASCII characters", "INVALID_IDEMPOTENCY_KEY")
        super().__init__([violation], reason="INVALID_IDEMPOTENCY_KEY")


class TooManyWatchersOfPrincipal(RateLimited):
    reason = "TOO_MANY_WATCHERS_OF_PRINCIPAL"

    def __init__(self, limit: int) -> None:
        super().__init__(f"WatchOrderEvents stream (at most {limit} at once per principal)", 1.0)
        self.metadata["limit"] = str(limit)
