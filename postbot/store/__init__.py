"""Stores: SQLite by default, PostgreSQL for several machines. Both follow store.base.Store."""
from __future__ import annotations

from postbot.errors import ConfigError


def open_store(url: str):
    if url.startswith("sqlite:///") or url == "sqlite://":
        from postbot.store.sqlite import SQLiteStore
        return SQLiteStore(url[len("sqlite:///"):] or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from postbot.store.postgres import PostgresStore
        return PostgresStore(url)
    raise ConfigError(f"POSTBOT_DATABASE_URL={url.split('@')[-1]!r} is not supported; use "
                      f"sqlite:///path/to/postbot.db or postgresql://user@host/db")
