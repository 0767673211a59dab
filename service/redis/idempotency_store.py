"""Idempotency-key records: who holds a key, and the stored outcome of the call that used it.

The fast store is Redis (or process memory for the embedded default). It is not the guarantee:
creates also write their key on the row, in their own transaction (see handlers), so a lost
record can never lead to a second order.

A running call holds its key for a short lease that a `Renewer` extends while the call runs, so
the keys of a process that died are free again within one lease, however long calls may take.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import cast

from service.redis.guard import RedisGuard, Script, slot_key

# Set-if-owner and delete-if-owner: a call whose lease expired must not overwrite the next holder.
_COMPLETE = Script("""
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['o'] == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
""")
# Extend-if-owner-and-running: a renewal racing the call's own completion must not cut the
# stored outcome's time to live down to a lease.
_RENEW = Script("""
local current = redis.call('GET', KEYS[1])
if current then
  local record = cjson.decode(current)
  if record['o'] == ARGV[1] and record['c'] == nil then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
""")
_RELEASE = Script("""
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['o'] == ARGV[1] then redis.call('DEL', KEYS[1]) end
""")


@dataclass(frozen=True)
class StoredOutcome:
    """A finished call: a status code (0 is OK) with the response, or the error's message and details."""

    code: int
    response: bytes = b""
    message: str = ""
    details: bytes = b""


@dataclass(frozen=True)
class Record:
    owner: str
    fingerprint: str
    outcome: StoredOutcome | None  # None while the first call is still running

    def dumps(self) -> str:
        data: dict[str, object] = {"o": self.owner, "f": self.fingerprint}
        if self.outcome is not None:
            o = self.outcome
            data["c"] = o.code
            data["r"] = base64.b64encode(o.response).decode()
            data["m"] = o.message
            data["d"] = base64.b64encode(o.details).decode()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: bytes | str) -> Record:
        data = json.loads(raw)
        outcome = None
        if "c" in data:
            outcome = StoredOutcome(data["c"], base64.b64decode(data["r"]), data["m"], base64.b64decode(data["d"]))
        return cls(data["o"], data["f"], outcome)


def scope(principal: str, method: str, key: str) -> str:
    """The same key from two principals, or for two methods, names two different requests."""
    return hashlib.sha256("\0".join((principal, method, key)).encode()).hexdigest()


def fingerprint(method: str, request_bytes: bytes) -> str:
    return hashlib.sha256(method.encode() + b"\0" + request_bytes).hexdigest()


class IdempotencyStore(ABC):
    @abstractmethod
    def claim(self, scope: str, record: Record, lease_s: float) -> Record | None:
        """Takes the key for `record.owner` unless someone has it: then returns their record."""

    @abstractmethod
    def complete(self, scope: str, record: Record, ttl_s: float) -> None:
        """Stores the outcome, if `record.owner` still holds the key."""

    @abstractmethod
    def renew(self, scope: str, owner: str, lease_s: float) -> None:
        """Holds the key `lease_s` from now, if `owner` still holds it and has stored no outcome."""

    @abstractmethod
    def release(self, scope: str, owner: str) -> None:
        """Forgets the key, if `owner` still holds it, so that a retry runs again."""


class RedisStore(IdempotencyStore):
    def __init__(self, guard: RedisGuard, prefix: str) -> None:
        self._guard = guard
        self._prefix = prefix

    def claim(self, scope: str, record: Record, lease_s: float) -> Record | None:
        # SET NX GET: take the key or read the holder's record, in one atomic command (Redis >= 7).
        key, value, px = self._key(scope), record.dumps(), int(lease_s * 1000)
        previous = self._guard.command("idempotency claim", None, "SET", key, value, "NX", "PX", px, "GET")
        return None if previous is None else Record.loads(cast(bytes, previous))

    def complete(self, scope: str, record: Record, ttl_s: float) -> None:
        args: list[str | int] = [record.owner, record.dumps(), int(ttl_s * 1000)]
        self._guard.script("idempotency store", None, _COMPLETE, [self._key(scope)], args)

    def renew(self, scope: str, owner: str, lease_s: float) -> None:
        self._guard.script("idempotency renew", None, _RENEW, [self._key(scope)], [owner, int(lease_s * 1000)])

    def release(self, scope: str, owner: str) -> None:
        self._guard.script("idempotency release", None, _RELEASE, [self._key(scope)], [owner])

    def _key(self, scope: str) -> str:
        return slot_key(self._prefix, "idem:", scope)


class MemoryStore(IdempotencyStore):
    """The embedded default, for one process, holding at most `capacity` keys: past it, expired
    records go first, then the oldest (their creates stay exactly-once through the database)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._records: dict[str, tuple[Record, float]] = {}  # scope → (record, expiry), oldest first
        self._lock = threading.Lock()
        self._capacity = capacity

    def claim(self, scope: str, record: Record, lease_s: float) -> Record | None:
        with self._lock:
            now = time.monotonic()
            held = self._records.get(scope)
            if held is not None and held[1] > now:
                return held[0]
            if len(self._records) >= self._capacity:
                self._records = {k: v for k, v in self._records.items() if v[1] > now}
                for oldest in list(self._records)[: max(0, len(self._records) - self._capacity * 9 // 10)]:
                    del self._records[oldest]
            self._records[scope] = (record, now + lease_s)
            return None

    def complete(self, scope: str, record: Record, ttl_s: float) -> None:
        with self._lock:
            held = self._records.get(scope)
            if held is not None and held[0].owner == record.owner:
                self._records[scope] = (record, time.monotonic() + ttl_s)

    def renew(self, scope: str, owner: str, lease_s: float) -> None:
        with self._lock:
            held = self._records.get(scope)
            if held is not None and held[0].owner == owner and held[0].outcome is None:
                self._records[scope] = (held[0], time.monotonic() + lease_s)

    def release(self, scope: str, owner: str) -> None:
        with self._lock:
            held = self._records.get(scope)
            if held is not None and held[0].owner == owner:
                del self._records[scope]


class Renewer:
    """Renews the keys of the calls running in this process, each a third of a lease before it ends.

    One thread for all of them, running only while some call holds a key. A call that outlives its
    lease keeps its key; a process that dies stops renewing, and its keys are free within a lease.
    A renewal that fails (Redis unreachable) lets the key expire: a retry may then run beside the
    call, and the database's unique index on the key still lets only one of them commit.
    """

    def __init__(self, store: IdempotencyStore, lease_s: float) -> None:
        self._store = store
        self._lease_s = lease_s
        self._held: set[tuple[str, str]] = set()  # (scope, owner)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, scope: str, owner: str) -> None:
        with self._lock:
            self._held.add((scope, owner))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="idempotency-renewer", daemon=True)
                self._thread.start()

    def drop(self, scope: str, owner: str) -> None:
        with self._lock:
            self._held.discard((scope, owner))

    def _run(self) -> None:
        while True:
            time.sleep(self._lease_s / 3)
            with self._lock:
                if not self._held:
                    self._thread = None  # the next hold() starts another
                    return
                held = list(self._held)
            for scope, owner in held:
                self._store.renew(scope, owner, self._lease_s)
