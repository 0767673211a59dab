"""Runs the Alembic migrations programmatically, so no alembic.ini is needed, and tells how far a
database's schema is from this code's."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

_SCRIPTS = Path(__file__).parent / "migrations"
_VERSION_TABLE = "alembic_version"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


@cache
def _revisions() -> tuple[str, frozenset[str]]:
    """This code's head revision (the migrations form one line) and every revision it knows."""
    scripts = ScriptDirectory(str(_SCRIPTS))
    head = scripts.get_current_head()
    assert head is not None, "storage/migrations/versions holds no revision"
    return head, frozenset(script.revision for script in scripts.walk_revisions())


def head() -> str:
    return _revisions()[0]


def schema_revision(conn: Connection) -> str | None:
    """The revision the database's schema is at; None for a database that was never migrated.
    Read directly rather than through Alembic's MigrationContext, which logs on every use."""
    if not inspect(conn).has_table(_VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


def schema_behind(conn: Connection) -> str | None:
    """Why this code cannot run on the database's schema yet, or None when it can: at the head, or at
    a revision this code does not know (a later release migrated it; its migrations only add)."""
    current, target = schema_revision(conn), head()
    if current is None:
        return f"the database has no schema (this code needs revision {target})"
    if current != target and current in _revisions()[1]:
        return f"the database schema is at revision {current}, this code needs {target}"
    return None


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrates to `revision`; returns the schema's revision before and after."""
    with engine.begin() as conn:
        before = schema_revision(conn)
        config = alembic_config(engine)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        return before, schema_revision(conn)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        config = alembic_config(engine)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
