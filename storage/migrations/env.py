"""Alembic environment: runs migrations on the connection or URL that storage.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from storage.schema import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "").connect() as conn:
        _run(conn)
