"""The relay's partition leases: which relay publishes which aggregates, claimed by conditional UPDATEs.

Aggregates are spread over `partitions` by `aggregate_id mod partitions`, and a relay publishes only
the partitions it holds, so one aggregate is only ever published by one relay at a time. A lease is
taken or renewed by one `UPDATE … WHERE partition = p AND (owner = me OR expire_time < now)`, whose
affected-row count says whether it was won: no SELECT … FOR UPDATE and no SKIP LOCKED, so it works
the same on TiDB (where SKIP LOCKED is a plain read) as on MySQL. Each statement is its own short
transaction. Expiry uses each relay's clock: clocks must agree to well within the lease.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, exc, insert, or_, select, update

from storage.schema import outbox_leases as t
from storage.schema import outbox_relays

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Leases:
    def __init__(self, engine: Engine, owner: str, partitions: int, ttl_s: float) -> None:
        self._engine = engine
        self.owner = owner
        self._partitions = partitions
        self._ttl = timedelta(seconds=ttl_s)

    def ensure_rows(self) -> None:
        """Creates the lease rows that do not exist yet (another relay may be creating them too)."""
        with self._engine.connect() as conn:
            present: set[int] = set(conn.execute(select(t.c.partition)).scalars())
        for p in range(self._partitions):
            if p not in present:
                try:
                    with self._engine.begin() as conn:
                        conn.execute(insert(t).values(partition=p, owner="", expire_time=_EPOCH))
                except exc.IntegrityError:
                    pass  # another relay inserted it first

    def claim(self, now: datetime) -> set[int]:
        """Renews this relay's leases and takes free ones up to its fair share; returns those it holds.

        The fair share is the partitions divided by the live relays (those whose heartbeat row, renewed
        here, has not expired), so two relays end up with half each; a relay above its share lets the
        surplus go, and the other takes it on its next claim once it has expired.
        """
        until = now + self._ttl
        self._heartbeat(until)
        with self._engine.begin() as conn:
            conn.execute(update(t).where(t.c.owner == self.owner, t.c.partition < self._partitions).values(expire_time=until))
        with self._engine.connect() as conn:
            rows = conn.execute(select(t.c.partition, t.c.owner, t.c.expire_time).where(t.c.partition < self._partitions)).all()
            live = set(conn.execute(select(outbox_relays.c.owner).where(outbox_relays.c.expire_time > now)).scalars())
        live.add(self.owner)
        share = math.ceil(self._partitions / len(live))
        held = sorted(r.partition for r in rows if r.owner == self.owner)
        for p in held[share:]:
            self._release(p)
        held = held[:share]
        for r in rows:
            if len(held) >= share:
                break
            if r.owner != self.owner and r.expire_time <= now and self._take(r.partition, now, until):
                held.append(r.partition)
        return set(held)

    def release_all(self) -> None:
        """Lets every lease go at once (a clean stop), so another relay need not wait for expiry."""
        with self._engine.begin() as conn:
            conn.execute(update(t).where(t.c.owner == self.owner).values(owner="", expire_time=_EPOCH))
            conn.execute(delete(outbox_relays).where(outbox_relays.c.owner == self.owner))

    def _heartbeat(self, until: datetime) -> None:
        with self._engine.begin() as conn:
            if conn.execute(update(outbox_relays).where(outbox_relays.c.owner == self.owner).values(expire_time=until)).rowcount:
                return
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(outbox_relays).values(owner=self.owner, expire_time=until))
        except exc.IntegrityError:
            pass  # inserted by a claim of this relay that ran at the same time

    def _take(self, partition: int, now: datetime, until: datetime) -> bool:
        stmt = update(t).where(
            t.c.partition == partition, or_(t.c.owner == self.owner, t.c.expire_time <= now)
        ).values(owner=self.owner, expire_time=until)
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def _release(self, partition: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(t).where(t.c.partition == partition, t.c.owner == self.owner).values(owner="", expire_time=_EPOCH))
