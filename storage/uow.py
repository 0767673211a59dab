"""The SQL unit of work: one connection, one transaction, driver errors translated."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction, exc

from service.domain.errors import StorageUnavailable
from service.domain.ports import UnitOfWork
from storage.amendments import SqlAmendmentRepository
from storage.customers import SqlCustomerRepository
from storage.engine import mark_committed
from storage.driver_errors import translate
from storage.ledger import SqlHistoryRepository, SqlLedgerRepository
from storage.orders import SqlOrderRepository
from storage.outbox import DiscardingOutbox, EventEncoder, SqlEventOutbox
from storage.write_behind import StatementQueue
from storage.products import SqlProductRepository
from storage.returns import SqlReturnRepository
from storage.shipments import SqlShipmentRepository
from storage.telemetry import SILENT, StorageTelemetry


class SqlUnitOfWork(UnitOfWork):
    ledger: SqlLedgerRepository  # its `appended` kinds are counted on commit
    def __init__(self, engine: Engine, events: EventEncoder | None, telemetry: StorageTelemetry = SILENT) -> None:
        self._engine = engine
        self._events = events  # None: ORDERS_EVENTS_OUTBOX=false
        self._telemetry = telemetry
        self._conn: Connection | None = None
        self._tx: RootTransaction | None = None
        self._sql: StatementQueue | None = None

    def __enter__(self) -> SqlUnitOfWork:
        try:
            with self._telemetry.pool_wait():
                self._conn = self._engine.connect()
            self._tx = self._conn.begin()
        except exc.TimeoutError as e:
            # Every pooled connection stayed busy for the whole pool timeout: overload, not a bug.
            raise StorageUnavailable() from e
        except exc.DBAPIError as e:
            self._close()
            raise translate(e, self._telemetry.lock_error) or e from e
        # The repositories reach the connection only through the queue.
        sql = self._sql = StatementQueue(self._conn)
        self.customers = SqlCustomerRepository(sql)
        self.products = SqlProductRepository(sql)
        self.orders = SqlOrderRepository(sql)
        self.ledger = SqlLedgerRepository(sql)  # records the kinds it appends, counted on commit
        self.shipments = SqlShipmentRepository(sql)
        self.returns = SqlReturnRepository(sql)
        self.amendments = SqlAmendmentRepository(sql)
        self.history = SqlHistoryRepository(sql)
        self.events = SqlEventOutbox(sql, self._events) if self._events else DiscardingOutbox()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()
        if isinstance(error, exc.DBAPIError) and (domain := translate(error, self._telemetry.lock_error)) is not None:
            raise domain from error

    def commit(self) -> None:
        assert self._tx is not None and self._conn is not None and self._sql is not None, "commit() outside `with`"
        self._sql.commit(self._tx)  # the queued writes, in one round trip, then the COMMIT; nothing after
        for kind in self.ledger.appended:
            self._telemetry.stock_movement(kind.name.lower())
        mark_committed(self._conn)

    def _close(self) -> None:
        # Connection.close() rolls back a transaction still open (one ROLLBACK, and the pool then
        # skips its own); a broken connection is discarded by the pool.
        try:
            if self._sql is not None:
                self._sql.close()  # writes of a transaction that is being rolled back
            if self._conn is not None:
                self._conn.close()
        except exc.DBAPIError:
            pass
        finally:
            self._conn = self._tx = self._sql = None
