"""Stores: SQLite by default, PostgreSQL for several machines. Both follow store.base.Store."""
from __future__ import annotations

from postbot.errors import ConfigError

VARIABLE = "POSTBOT_DATABASE_URL"
MEMORY = "sqlite:///:memory:"
_FORMS = "sqlite:///postbot.db (a file here), sqlite:////var/lib/postbot/postbot.db (an absolute path) " \
         "or postgresql://user@host/dbname"


def open_store(url: str, *, create: bool = True):
    """The store a database URL names. With create=False a SQLite file that does not exist yet is
    not created: the store reads as empty (for commands that only look)."""
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "sqlite" and separator:
        return _sqlite(url, rest, create)
    if scheme in ("postgresql", "postgres") and separator:
        try:
            import psycopg  # noqa: F401  (only PostgreSQL users install it)
        except ImportError:
            raise ConfigError(f"{VARIABLE} names a PostgreSQL database, but the PostgreSQL driver (psycopg) "
                              f"is not installed; install it with: pip install 'postbot[postgres]'") from None
        from postbot.store.postgres import PostgresStore
        return PostgresStore(url)
    if not separator:
        shown = url if "@" not in url else "…"
        raise ConfigError(f"{VARIABLE}={shown!r} is not a database URL; use {_FORMS}")
    raise ConfigError(f"{VARIABLE}: {scheme}:// databases are not supported; use {_FORMS}")


def _sqlite(url: str, rest: str, create: bool):
    from postbot.store.sqlite import SQLiteStore
    # sqlite:///relative.db and sqlite:////absolute.db: the path is what follows the third slash.
    if not rest.startswith("/"):
        raise ConfigError(f"{VARIABLE}={url!r}: write three slashes before the file, e.g. sqlite:///postbot.db")
    path = rest[1:]
    if path == ":memory:":
        return SQLiteStore(":memory:")
    if not path:
        # An empty path means a private in-memory database to SQLite: everything queued would vanish
        # when the command ends. Only an explicit request gets that.
        raise ConfigError(f"{VARIABLE}={url!r} names no database file, so everything queued would be lost "
                          f"when the command ends; give a file, e.g. sqlite:///postbot.db, or ask for a "
                          f"throwaway in-memory database with {MEMORY}")
    return SQLiteStore(path, create=create)
