"""PostgreSQL, for several daemons on several machines sharing one queue.

Claims are serialised by a transaction-scoped advisory lock (one claimant at a time, like
SQLite's BEGIN IMMEDIATE), taken before the claim reads, so it sees every earlier claim committed.
The claim SELECT locks no rows: no other claimant can run beside it, and the UPDATE that takes the
chosen rows checks `state = 'scheduled'` again on their newest version (a cancel committed
meanwhile wins). Locking every candidate (FOR UPDATE) wrote to each of them, four per slot, on
every claim. Ending a claim is one statement (UPDATE and its attempt in a CTE): one round trip.
Other processes' changes are noticed through
LISTEN/NOTIFY: triggers installed by migrate() notify on new deliveries, state and run-time
changes and channel holds; change_token() drains the notifications without blocking.
psycopg is imported lazily: only PostgreSQL users need it."""
from __future__ import annotations

import threading
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from postbot.errors import StoreError
from postbot.store.base import ATTEMPT_COLUMNS, SQLStore, attempt_row
from postbot.store.clock import ms

# Any fixed 64-bit number works; this one spells "postbot" in ASCII.
CLAIM_LOCK = 0x706F7374626F74
CHANGES_CHANNEL = "postbot_changes"
_TRIGGERS_VERSION = "v1"

_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION postbot_notify_change_{_TRIGGERS_VERSION}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANGES_CHANNEL}', TG_TABLE_NAME);
    RETURN NULL;
END
$$"""

# Statement-level for inserts (one notification per bulk insert); row-level for updates so that
# lease renewals and progress saves, which change neither state nor run time, stay silent.
_TRIGGERS = {
    f"postbot_deliveries_insert_{_TRIGGERS_VERSION}":
        "AFTER INSERT ON deliveries FOR EACH STATEMENT",
    f"postbot_deliveries_update_{_TRIGGERS_VERSION}":
        "AFTER UPDATE ON deliveries FOR EACH ROW "
        "WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.run_at IS DISTINCT FROM NEW.run_at)",
    f"postbot_holds_change_{_TRIGGERS_VERSION}":
        "AFTER INSERT OR UPDATE OR DELETE ON channel_holds FOR EACH STATEMENT",
}


def redacted_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the PostgreSQL URL in POSTBOT_DATABASE_URL"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = "&".join(f"{k}=***" if k == "password" else f"{k}={v}"
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _secrets_in(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
        found = [parts.password or "", unquote(parts.password or "")]    # as written and as sent
        found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "password"]
    except ValueError:
        found = []
    return [s for s in found if s]


class PostgresStore(SQLStore):
    placeholder = "%s"
    id_type = "BIGSERIAL PRIMARY KEY"
    int_type = "BIGINT"

    def __init__(self, url: str, connect_timeout: int = 10):
        self._url = url
        self.display_url = redacted_url(url)
        self._secrets = _secrets_in(url)
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._all: list[Any] = []           # every connection opened, so close() reaches them all
        self._all_lock = threading.Lock()
        self._listener = None
        self._listener_lock = threading.Lock()
        self._changes = 0

    def __repr__(self) -> str:
        return f"PostgresStore({self.display_url!r})"

    # ---- connections -------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, doing: str, exc: Exception) -> StoreError:
        detail = self._scrub(str(exc).strip()) or type(exc).__name__
        return StoreError(f"PostgreSQL at {self.display_url}: {doing}: {detail}")

    def _connect(self):
        import psycopg
        options: dict[str, Any] = {"autocommit": True, "application_name": "postbot"}
        if "connect_timeout" not in self._url:
            options["connect_timeout"] = self.connect_timeout
        try:
            conn = psycopg.connect(self._url, **options)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self.display_url}: "
                             f"{self._scrub(str(exc).strip())}; check POSTBOT_DATABASE_URL and that the "
                             f"server is running") from None
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _forget(self, conn) -> None:
        conn.close()
        with self._all_lock:
            self._all = [c for c in self._all if c is not conn]

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                self._forget(conn)
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _begin(self):
        """BEGIN on this thread's connection, reconnecting once if the server dropped it (a restart,
        an idle timeout): nothing has run yet, so trying again is safe."""
        import psycopg
        for retry in (False, True):
            conn = self._connection()
            stack = ExitStack()
            try:
                stack.enter_context(conn.transaction())
                return conn, stack
            except psycopg.Error as exc:
                if retry or not conn.broken:
                    raise self._error("cannot start a transaction", exc) from None
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self, claim: bool = False) -> Iterator[Any]:
        import psycopg
        conn, stack = self._begin()
        try:
            with stack, conn.cursor() as cur:
                if claim:
                    # One claimant at a time across every process and machine using this database.
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (CLAIM_LOCK,))
                yield cur
        except psycopg.Error as exc:
            raise self._error("the database refused the change", exc) from None

    def _end_claim(self, update: str, params, attempt) -> bool:
        # One statement is its own transaction (the connection autocommits): the update and its
        # attempt commit together in one round trip, where BEGIN, UPDATE, INSERT, COMMIT took four.
        import psycopg
        if attempt is None:
            sql, values = f"WITH ended AS ({update} RETURNING id) SELECT id FROM ended", tuple(params)
        else:
            sql = (f"WITH ended AS ({update} RETURNING id) INSERT INTO attempts {ATTEMPT_COLUMNS} "
                   "SELECT ended.id, ?::bigint, ?::integer, ?::text, ?::real, ?::text FROM ended RETURNING delivery_id")
            values = (*params, *attempt_row(attempt)[1:])
        try:
            with self._connection().cursor() as cur:
                return cur.execute(self.q(sql), values).fetchone() is not None
        except psycopg.Error as exc:
            raise self._error("the database refused the change", exc) from None

    # ---- schema --------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        applied = super().migrate()
        with self.transaction(claim=True) as cur:
            cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                        "AND tgrelid IN ('deliveries'::regclass, 'channel_holds'::regclass)")
            present = {row[0] for row in cur.fetchall()}
            missing = [name for name in _TRIGGERS if name not in present]
            if missing:
                cur.execute(_NOTIFY_FUNCTION)
            for name in missing:
                cur.execute(f"CREATE TRIGGER {name} {_TRIGGERS[name]} "
                            f"EXECUTE FUNCTION postbot_notify_change_{_TRIGGERS_VERSION}()")
        return applied

    # ---- noticing other processes -------------------------------------------------------------
    def change_token(self) -> int:
        """Changes whenever a delivery is added, changes state or run time, or a hold changes."""
        import psycopg
        with self._listener_lock:
            for retry in (False, True):
                try:
                    if self._listener is None or self._listener.closed or self._listener.broken:
                        self._listener = self._connect()
                        self._listener.execute(f"LISTEN {CHANGES_CHANNEL}")
                        self._changes += 1      # what happened while nobody listened counts as a change
                    for _ in self._listener.notifies(timeout=0):
                        self._changes += 1
                    return self._changes
                except psycopg.Error as exc:
                    dropped = self._listener is not None and self._listener.broken
                    if self._listener is not None:
                        self._forget(self._listener)
                    self._listener = None       # listen afresh on the next try
                    if retry or not dropped:
                        raise self._error("cannot listen for changes", exc) from None
            raise AssertionError("unreachable")

    def explain_claim(self) -> list[str]:
        from datetime import datetime, timezone
        now_ms = ms(datetime.now(timezone.utc))      # a real value, so the plan uses the real types
        with self.transaction() as cur:
            cur.execute("EXPLAIN " + self.q(self._claim_select()), (now_ms, now_ms, 32))
            return [row[0] for row in cur.fetchall()]

    def close(self) -> None:
        with self._all_lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
        self._listener = None
