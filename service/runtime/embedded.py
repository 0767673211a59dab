"""Where the embedded default keeps its files: the SQLite database and, beside it, the development
JWT secret. Every command finds them the same way: from ORDERS_DATABASE_URL, a relative path being
relative to the directory the command runs in."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from service.settings import Settings


def database_file(settings: Settings) -> Path | None:
    """The SQLite database file, absolute; None when the database is not a SQLite file."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).absolute()


def secret_file(settings: Settings) -> Path | None:
    """The development JWT secret beside the SQLite database; None when there is none."""
    database = database_file(settings)
    return None if database is None else database.with_suffix(".jwt-secret")
