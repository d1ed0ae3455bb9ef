"""SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE for claims so several daemons on one file
take turns instead of racing."""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from postbot.errors import ConfigError, StoreError
from postbot.store.base import SQLStore


class SQLiteStore(SQLStore):
    # Without statistics (postbot never runs ANALYZE) SQLite prefers deliveries_state_due to the
    # smaller partial claim index and reads every scheduled row; after ANALYZE it may pick yet
    # another. The claim index is always right.
    due_work = "deliveries INDEXED BY deliveries_claim"

    def __init__(self, path: str, busy_timeout_ms: int = 30000, *, create: bool = True):
        self.path = path
        # A store asked not to create its missing file reads as empty from a private in-memory
        # database, so looking (list, status) never leaves a file behind.
        self.missing = False
        if path != ":memory:":
            _check_path(Path(path))
            if not create and not Path(path).exists():
                self.path, self.missing = ":memory:", True
        self._local = threading.local()
        self.busy_timeout_ms = busy_timeout_ms

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000,
                                       check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                self._enable_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.DatabaseError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StoreError(f"the database {self.path} is busy: {exc}") from None
                # The file itself is the problem (not a database, not readable, not creatable): the
                # setting must change, as with any other bad input.
                raise ConfigError(f"cannot open the database {self.path} ({exc}); fix POSTBOT_DATABASE_URL "
                                  f"or the file's permissions") from None
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the database {self.path}: {exc}") from None
            self._local.conn = conn
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switching a new file to WAL does not wait on the busy timeout, so several daemons
        opening one fresh database at once must take turns here."""
        import time
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def transaction(self, claim: bool = False) -> Iterator[Any]:
        conn = self._connection()
        cur = conn.cursor()
        try:
            # Writers take the lock up front: no upgrade deadlock between two daemons.
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.path} is busy or unreadable: {exc}") from None
        try:
            yield cur
        except sqlite3.Error as exc:
            conn.rollback()
            raise StoreError(f"database {self.path}: {exc}") from None
        except BaseException:
            conn.rollback()
            raise
        else:
            try:
                conn.commit()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write to {self.path}: {exc}") from None
        finally:
            cur.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def change_token(self) -> int:
        """Changes whenever another connection commits: how the daemon notices new posts."""
        return self._connection().execute("PRAGMA data_version").fetchone()[0]

    def explain_claim(self) -> list[str]:
        with self.transaction() as cur:
            rows = cur.execute("EXPLAIN QUERY PLAN " + self._claim_select(), (0, 0, 32)).fetchall()
        return [r[-1] for r in rows]


def _check_path(path: Path) -> None:
    """Bad database paths are bad settings (exit 2), found before anything is opened."""
    parent = path.parent
    fix = "fix POSTBOT_DATABASE_URL"
    if path.is_dir():
        raise ConfigError(f"the database {path} is a folder; name a file in it, e.g. sqlite:///{path / 'postbot.db'}")
    if not parent.exists():
        raise ConfigError(f"the database folder {parent} does not exist; create it (mkdir -p {parent}) or {fix}")
    if not parent.is_dir():
        raise ConfigError(f"the database folder {parent} is a file, not a folder; {fix}")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise ConfigError(f"the database {path} is not readable and writable by this user; "
                              f"fix its permissions or {fix}")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create the database in {parent}: the folder is not writable by this user; "
                          f"fix its permissions or {fix}")
