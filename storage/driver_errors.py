"""Translates driver errors into domain errors, in one place for every engine."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import exc

from service.domain.errors import AlreadyExists, KeyTaken, LockContention, OrdersError, Rerun, StorageUnavailable
from service.domain.model import IdempotencyKey

# MySQL/MariaDB server error codes. Each becomes a re-run of the whole use case (LockContention) or
# UNAVAILABLE (StorageUnavailable), as its meaning says:
# - 1205 lock wait timeout (also NOWAIT on MariaDB) and 1213 deadlock: re-run; SQLite's "busy" too.
#   MySQL refuses NOWAIT with 3572 instead: the same refusal to wait, so the same kind.
# - 1317 query interrupted (KILL QUERY, e.g. an operator or a watchdog freeing a stuck lock): this
#   statement was stopped, not the service; the rolled-back transaction is re-run, like a
#   deadlock victim, and a kill repeated on every attempt ends as ABORTED.
# - 1969 max_statement_time exceeded (MariaDB), 3024 its MySQL twin (max_execution_time, which
#   covers SELECT only: a blocked UPDATE waits for 1205 there): the database refuses to spend that
#   long now; a re-run would spend it again, so UNAVAILABLE.
_LOCK_KINDS = {1205: "lock_wait_timeout", 3572: "lock_wait_timeout", 1213: "deadlock", 1317: "interrupted"}
_LOCK_CODES = set(_LOCK_KINDS)
_GONE_CODES = {2002, 2003, 2006, 2013, 2055, 1927, 4031, 1053}  # cannot connect, server gone, killed, shutdown
# The server refuses another connection: max_connections (1040), max_user_connections (1203), or the
# account's own MAX_USER_CONNECTIONS or hourly limits (1226). Overload, not a bug: UNAVAILABLE, retry later.
_FULL_CODES = {1040, 1203, 1226}
_TIMEOUT_CODES = {1969, 3024}
_DUPLICATE = 1062


def _code(error: exc.DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def translate(error: exc.DBAPIError, lock_error: Callable[[str], None]) -> OrdersError | None:
    """The domain error for a driver error, or None if it is a bug that should surface as INTERNAL.
    A lock conflict is also reported to `lock_error`, by kind."""
    code = _code(error)
    text = str(error.orig).lower()
    if code in _LOCK_CODES or "database is locked" in text:
        lock_error(_LOCK_KINDS.get(code or 0, "busy"))
        return LockContention(1)
    if isinstance(error, exc.IntegrityError) and (taken := _taken(error)) is not None:
        return taken
    if code in _GONE_CODES or code in _FULL_CODES or code in _TIMEOUT_CODES or error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return StorageUnavailable()
    if isinstance(error, exc.OperationalError) and "unable to open database" in text:
        return StorageUnavailable()
    return None


def is_duplicate(error: exc.IntegrityError, constraint_column: str) -> bool:
    """Whether the unique key that failed ends with this column. Only the key's name is matched,
    never the duplicate value, which the message also quotes."""
    text = str(error.orig)
    if _code(error) == _DUPLICATE:  # ... for key 'uq_customers_email' (MySQL 8: 'customers.uq_customers_email')
        return text.rstrip("\"')").endswith(f"_{constraint_column}")
    # SQLite: UNIQUE constraint failed: customers.email (or orders.idem_principal, orders.idem_key)
    return "UNIQUE constraint failed" in text and text.endswith(f".{constraint_column}")


def duplicate(error: exc.IntegrityError, resource: str, fields: tuple[str, ...], values: dict[str, str]) -> AlreadyExists | None:
    """Which unique field a failed insert or update collided on, if any. Callers raise it (else the
    driver error) `from None`: it is the translation of the driver error, not a second failure."""
    for name in fields:
        if is_duplicate(error, name):
            return AlreadyExists(resource, name, values.get(name, ""))
    return None


IDEMPOTENCY_COLUMNS = ("idem_principal", "idem_key", "idem_fingerprint")


def key_columns(key: IdempotencyKey | None) -> dict[str, str | None]:
    if key is None:
        return dict.fromkeys(IDEMPOTENCY_COLUMNS)
    return dict(zip(IDEMPOTENCY_COLUMNS, (key.principal, key.key, key.fingerprint), strict=True))


def _taken(error: exc.IntegrityError) -> Rerun | None:
    """A unique value a re-run will not collide on again.

    A taken idempotency key: a concurrent call with the same key committed first, and a re-run finds
    its row. A taken external reference: a concurrent order of the same customer committed it first
    (or came earlier in the same batch), and a re-run is refused by its judgement, which names that
    order. A taken primary key: two processes drew the same order id (storage/ids.py), and a
    re-run draws another. Caught here rather than at the INSERT because order rows are written
    behind, so the error may surface at the commit.
    """
    if is_duplicate(error, "idem_key"):
        return KeyTaken()
    if is_duplicate(error, "external_reference"):
        return LockContention(1)
    text = str(error.orig).rstrip("\"')")
    if (_code(error) == _DUPLICATE and text.endswith("PRIMARY")) or text.endswith("UNIQUE constraint failed: orders.id"):
        return LockContention(1)
    return None
