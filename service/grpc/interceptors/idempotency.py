"""Exactly-once mutating calls with the `idempotency-key` metadata (Stripe's semantics).

First call: runs, and its final outcome is stored. A repeat with the same request: the stored
outcome, marked `idempotent-replayed: true`, without running. A repeat while the first still runs:
ABORTED / IDEMPOTENCY_KEY_IN_USE, for as long as it runs (its lease is renewed) and at most a
lease after its process died. The same key with another request: INVALID_ARGUMENT /
IDEMPOTENCY_KEY_REUSED. Outcomes that a retry could change (transient errors, bad input) are not
stored: the key is released and a retry runs again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf.message import Message

from service.grpc import context as ctx
from service import metrics
from service.grpc import status
from service.redis import idempotency_store as idem
from service.domain.errors import IdempotencyKeyReused
from service.grpc.errors import IdempotencyKeyInUse, InvalidIdempotencyKey
from service.domain.model import IdempotencyKey
from service.grpc.grpc_types import status_code, status_details
from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor
from service.grpc.methods import METHODS

# Business outcomes that a retry would meet again; everything else releases the key.
_STORED = {
    grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
}
_CODES = {code.value[0]: code for code in grpc.StatusCode}


class IdempotencyInterceptor(UnaryInterceptor):
    def __init__(
        self, store: idem.IdempotencyStore, responses: Mapping[str, type[Message]], lease_s: float, ttl_s: float
    ) -> None:
        self._store = store
        self._responses = responses
        self._lease_s = lease_s
        self._renewer = idem.Renewer(store, lease_s)
        self._ttl_s = ttl_s

    def applies(self, method: str) -> bool:
        return method in METHODS and METHODS[method].idempotent

    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        key = ctx.metadata_value(context, "idempotency-key")
        if key is None:
            return proceed(request, context)
        if not (1 <= len(key) <= 255 and all(" " <= ch <= "~" for ch in key)):
            raise InvalidIdempotencyKey()
        principal = ctx.identity.get().principal
        scope = idem.scope(principal, method, key)
        mine = idem.Record(uuid.uuid4().hex, idem.fingerprint(method, request.SerializeToString(deterministic=True)), None)
        held = self._store.claim(scope, mine, self._lease_s)
        if held is not None:
            if held.fingerprint != mine.fingerprint:
                metrics.IDEMPOTENCY.labels("reused").inc()
                raise IdempotencyKeyReused()
            if held.outcome is None:
                metrics.IDEMPOTENCY.labels("in_use").inc()
                raise IdempotencyKeyInUse()
            return self._replay(method, held.outcome, context)
        token = ctx.idempotency.set(IdempotencyKey(principal, key, mine.fingerprint))
        self._renewer.hold(scope, mine.owner)
        try:
            response = proceed(request, context)
        except Exception:
            self._settle(scope, mine, context)
            raise
        finally:
            self._renewer.drop(scope, mine.owner)
            ctx.idempotency.reset(token)
        self._store.complete(scope, idem.Record(mine.owner, mine.fingerprint, idem.StoredOutcome(0, response.SerializeToString())), self._ttl_s)
        return response

    def _settle(self, scope: str, mine: idem.Record, context: grpc.ServicerContext) -> None:
        code = status_code(context)
        if code not in _STORED:
            self._store.release(scope, mine.owner)
            return
        trailing = dict(context.trailing_metadata() or ())
        details = trailing.get("grpc-status-details-bin", b"")
        assert isinstance(details, bytes), "-bin metadata is bytes"
        outcome = idem.StoredOutcome(code.value[0], b"", status_details(context), details)
        self._store.complete(scope, idem.Record(mine.owner, mine.fingerprint, outcome), self._ttl_s)

    def _replay(self, method: str, outcome: idem.StoredOutcome, context: grpc.ServicerContext) -> Any:
        ctx.mark_replayed(context)
        if outcome.code == 0:
            return self._responses[method].FromString(outcome.response)
        trailing = (("grpc-status-details-bin", outcome.details),) if outcome.details else ()
        context.abort_with_status(status.CallStatus(_CODES[outcome.code], outcome.message, trailing))
