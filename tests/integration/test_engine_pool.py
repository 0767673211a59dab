"""The pool without wasted round trips: no ROLLBACK after a COMMIT, one after a read, and dead idle connections replaced."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from service.domain.errors import StorageUnavailable
from service.domain.model import OrderStatus, StatusChange
from storage import engine as engine_module
from service.runtime.bootstrap import unit_of_work
from tests.helpers import record_calls


def test_a_committed_unit_of_work_sends_no_rollback_and_a_read_sends_one(one_connection: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = record_calls(one_connection, monkeypatch)
    with unit_of_work(one_connection) as uow:
        uow.products.lock(["1"])
        uow.commit()
    assert sent == ["COMMIT"]
    sent.clear()
    with unit_of_work(one_connection) as uow:
        uow.products.lock(["1"])
    assert sent == ["ROLLBACK"]


def test_a_failed_unit_of_work_is_rolled_back_before_the_connection_is_reused(one_connection: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = record_calls(one_connection, monkeypatch)
    with pytest.raises(RuntimeError), unit_of_work(one_connection) as uow:
        uow.products.lock(["1"])
        raise RuntimeError("boom")
    assert sent == ["ROLLBACK"]
    # The server's own view, on MariaDB and MySQL alike: the pooled connection holds no InnoDB
    # transaction (the FOR UPDATE above started one). This query touches no InnoDB table, so it
    # starts none itself.
    open_transactions = text("SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()")
    with one_connection.connect() as conn:
        assert conn.execute(open_transactions).scalar_one() == 0


def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(
    one_connection: Engine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with one_connection.connect() as conn:
        victim = conn.execute(text("SELECT CONNECTION_ID()")).scalar_one()
    with engine.connect() as conn:
        conn.execute(text(f"KILL CONNECTION {int(victim)}"))
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    with unit_of_work(one_connection) as uow:
        uow.products.lock(["1"])
    with one_connection.connect() as conn:
        assert conn.execute(text("SELECT CONNECTION_ID()")).scalar_one() != victim


@pytest.mark.parametrize("statement", ["read", "write-behind"])
def test_a_connection_lost_inside_a_unit_of_work_is_unavailable_and_never_reused(
    one_connection: Engine, engine: Engine, statement: str
) -> None:
    # Reads run through SQLAlchemy; the queued writes on the driver's cursor (storage.write_behind).
    # Either way a lost connection must become StorageUnavailable (UNAVAILABLE: retry) and leave the pool.
    with one_connection.connect() as conn:
        victim = conn.execute(text("SELECT CONNECTION_ID()")).scalar_one()
    with pytest.raises(StorageUnavailable), unit_of_work(one_connection) as uow:
        with engine.connect() as conn:
            conn.execute(text(f"KILL CONNECTION {int(victim)}"))
        if statement == "read":
            uow.products.lock(["1"])
        else:
            uow.history.add(StatusChange("", "1", None, OrderStatus.PENDING, "a", "r", "r", datetime.now(UTC)))
            uow.commit()
    with unit_of_work(one_connection) as uow:  # a reused dead connection would fail here
        uow.products.lock(["1"])
    with one_connection.connect() as conn:
        assert conn.execute(text("SELECT CONNECTION_ID()")).scalar_one() != victim
