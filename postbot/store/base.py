"""The store contract and the SQL both backends share.

Contract (every method is one transaction):
  migrate()                      bring the schema up to date
  add_post(...), add_posts(...)  post snapshots and their deliveries, all or nothing
  claim_due(now, ...)            atomically mark due deliveries `publishing` under a lease;
                                 at most one in flight per channel, held channels skipped
  reclaim(now, ...)              take over `publishing` rows whose claimant is gone
  save_progress / finish / requeue   only succeed for the current claimant
  record_attempt, get, list, between, of_post, queued_before, attempts, counts, cancel, retry,
  reschedule, mark_published (a human's answer for an `unknown` delivery)
  hold_channel, holds, state_get, state_set, state_items, all_state: see store/channels.py
  feeds, source items and notices: see store/sources.py
  alert events, digests and the deliveries they watch: see store/alerts.py
Times are aware datetimes at the boundary and integer milliseconds (UTC) inside.
Text that may carry a platform's words (errors, attempts, progress, holds, notices, alerts) passes
redact() on its way in: the database never holds a secret, whoever writes to it.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence

from postbot.errors import UsageError
from postbot.models import Attempt, Delivery, Part, State
from postbot.redact import redact, redact_data
from postbot.store.alerts import AlertsSQL
from postbot.store.channels import ChannelsSQL
from postbot.store.clock import UTC, from_ms, ms
from postbot.store.sources import SourcesSQL

_COLUMNS = ("d.id, d.post_id, p.slug, d.channel, d.platform, d.due_at, d.run_at, d.state, "
            "d.idempotency_key, d.attempts, d.remote_id, d.remote_url, d.error, d.parts, d.progress, "
            "d.claimed_by, d.lease_until")
_FROM = "deliveries d JOIN posts p ON p.id = d.post_id"
# The same columns from an UPDATE's RETURNING, which may name only the table it changes.
_RETURNING = (_COLUMNS.replace("d.", "").replace("p.slug", "(SELECT slug FROM posts p WHERE p.id = deliveries.post_id)"))


ATTEMPT_COLUMNS = "(delivery_id, at, status, error, latency_ms, outcome)"


def attempt_row(attempt: Attempt) -> tuple[Any, ...]:
    return (attempt.delivery_id, ms(attempt.at), attempt.status, redact(attempt.error), attempt.latency_ms,
            attempt.outcome)


def _parts_json(parts: list[Part]) -> str:
    return json.dumps([part.to_json() for part in parts])


class SQLStore(ChannelsSQL, SourcesSQL, AlertsSQL):
    """Shared SQL. Subclasses give the connection, placeholders and the claim transaction.
    Channel holds and memory are in store/channels.py; sources (feeds, watched folders) and notices
    in store/sources.py; alert events and digests in store/alerts.py."""

    placeholder = "?"
    id_type = "INTEGER PRIMARY KEY AUTOINCREMENT"
    int_type = "INTEGER"
    # How the queries after due work name the claim index (deliveries_claim: scheduled rows in run
    # order). PostgreSQL picks it by itself; SQLite is told (see sqlite.py).
    due_work = "deliveries"

    # ---- plumbing for subclasses ---------------------------------------------------------
    @contextmanager
    def transaction(self, claim: bool = False) -> Iterator[Any]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    def q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def execute(self, cur, sql: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self.q(sql), tuple(params))
        return cur

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- schema ----------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        from postbot.store.migrations import MIGRATIONS
        applied: list[str] = []
        with self.transaction(claim=True) as cur:
            self.execute(cur, "CREATE TABLE IF NOT EXISTS schema_migrations "
                              "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row[0] for row in self.execute(cur, "SELECT name FROM schema_migrations").fetchall()}
            for name, statements in MIGRATIONS:
                if name in done:
                    continue
                for statement in statements:
                    self.execute(cur, statement.format(id=self.id_type, int=self.int_type))
                self.execute(cur, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                             (name, datetime.now(UTC).isoformat()))
                applied.append(name)
        return applied

    # ---- writing ---------------------------------------------------------------------------
    def add_post(self, *, slug: str, title: str, source: str, snapshot: dict[str, Any],
                 deliveries: list[dict[str, Any]], now: datetime, source_item: int | None = None) -> list[Delivery]:
        """deliveries: [{channel, platform, due_at, parts (list of Part), idempotency_key}]. With source_item, that
        feed or folder item becomes `queued` in the same transaction; if it is no longer `new`,
        nothing is written and ItemTaken is raised."""
        return self.add_posts([{"slug": slug, "title": title, "source": source, "snapshot": snapshot,
                                "deliveries": deliveries}], now=now, source_item=source_item)

    def add_posts(self, posts: list[dict[str, Any]], *, now: datetime, source_item: int | None = None) -> list[Delivery]:
        """Several posts ({slug, title, source, snapshot, deliveries}) in one transaction: a post and
        its evergreen re-shares are queued together or not at all. source_item goes with the first."""
        with self.transaction() as cur:
            post_ids = self._insert_posts(cur, posts, now, source_item)
            return self._deliveries_of(cur, post_ids)

    def _insert_posts(self, cur, posts: list[dict[str, Any]], now: datetime,
                      source_item: int | None = None) -> list[int]:
        """add_posts inside a transaction (alert digests are posts too); returns the new posts' ids."""
        post_ids: list[int] = []
        for post in posts:
            row = self.execute(cur, "INSERT INTO posts (slug, title, source, snapshot, created_at) "
                                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                               (post["slug"], post["title"], post["source"], json.dumps(post["snapshot"]),
                                ms(now))).fetchone()
            post_id = row[0]
            if source_item is not None and not post_ids:
                self._take_item(cur, source_item, post_id)
            post_ids.append(post_id)
            cur.executemany(self.q("INSERT INTO deliveries (post_id, channel, platform, due_at, run_at, state, "
                                   "idempotency_key, parts, updated_at) VALUES (?, ?, ?, ?, ?, 'scheduled', ?, ?, ?)"),
                            [(post_id, item["channel"], item["platform"], ms(item["due_at"]), ms(item["due_at"]),
                              item["idempotency_key"], _parts_json(item["parts"]), ms(now))
                             for item in post["deliveries"]])
        return post_ids

    def _deliveries_of(self, cur, post_ids: Sequence[int]) -> list[Delivery]:
        if not post_ids:
            return []
        marks = ",".join("?" * len(post_ids))
        return self._select(cur, f"WHERE d.post_id IN ({marks}) ORDER BY d.post_id, d.id", list(post_ids))

    def _select(self, cur, where: str, params: Sequence[Any] = ()) -> list[Delivery]:
        """Deliveries (`d`, with their post `p`) matching `where`, which may end in ORDER BY and LIMIT."""
        return [self._delivery(r) for r in self.execute(cur, f"SELECT {_COLUMNS} FROM {_FROM} {where}",
                                                         params).fetchall()]

    def add_many(self, rows: list[tuple[int, str, str, datetime, str, list]], now: datetime) -> None:
        """Bulk insert deliveries for existing posts: (post_id, channel, platform, due_at, key, parts)."""
        with self.transaction() as cur:
            cur.executemany(self.q("INSERT INTO deliveries (post_id, channel, platform, due_at, run_at, state, "
                                   "idempotency_key, parts, updated_at) VALUES (?, ?, ?, ?, ?, 'scheduled', ?, ?, ?)"),
                            [(p, c, pl, ms(d), ms(d), k, _parts_json(parts), ms(now))
                             for p, c, pl, d, k, parts in rows])

    def claim_due(self, now: datetime, *, worker: str, lease_seconds: int, limit: int = 32,
                  exclude_channels: Sequence[str] = ()) -> list[Delivery]:
        now_ms = ms(now)
        with self.transaction(claim=True) as cur:
            rows = self.execute(cur, self._claim_select(), (now_ms, now_ms, limit * 4)).fetchall()
            chosen, seen = [], set(exclude_channels)
            for row in rows:
                if row[1] in seen:
                    continue
                seen.add(row[1])
                chosen.append(row[0])
                if len(chosen) >= limit:
                    break
            if not chosen:
                return []
            marks = ",".join("?" * len(chosen))
            # One statement marks and reads them back: a round trip less on PostgreSQL.
            found = self.execute(cur, f"UPDATE deliveries SET state = 'publishing', claimed_by = ?, lease_until = ?, "
                                      f"attempts = attempts + 1, updated_at = ? WHERE id IN ({marks}) "
                                      f"AND state = 'scheduled' RETURNING {_RETURNING}",
                                 (worker, now_ms + lease_seconds * 1000, now_ms, *chosen)).fetchall()
        return sorted((self._delivery(r) for r in found), key=lambda d: (d.next_attempt_at or d.due_at, d.id))

    def _claim_select(self) -> str:
        # NOT EXISTS reads an index per candidate (deliveries_in_flight, or SQLite's choice of
        # deliveries_channel); NOT IN would list every publishing row first, and planners may turn
        # that into a scan.
        return (f"SELECT id, channel FROM {self.due_work} WHERE state = 'scheduled' AND run_at <= ? "
                "AND channel NOT IN (SELECT channel FROM channel_holds WHERE until_at > ?) "
                "AND NOT EXISTS (SELECT 1 FROM deliveries busy WHERE busy.channel = deliveries.channel "
                "AND busy.state = 'publishing') "
                "ORDER BY run_at, id LIMIT ?")

    def reclaim(self, now: datetime, *, worker: str, lease_seconds: int,
                claimant_gone: Callable[[str], bool]) -> list[Delivery]:
        """Take over in-flight deliveries whose lease ran out or whose claimant is known dead."""
        now_ms = ms(now)
        with self.transaction(claim=True) as cur:
            rows = self.execute(cur, "SELECT id, claimed_by, lease_until FROM deliveries "
                                     "WHERE state = 'publishing'").fetchall()
            stale = [(i, by) for i, by, lease in rows
                     if by != worker and ((lease or 0) <= now_ms or claimant_gone(by or ""))]
            taken = []
            for delivery_id, previous in stale:
                cur2 = self.execute(cur, "UPDATE deliveries SET claimed_by = ?, lease_until = ?, updated_at = ? "
                                         "WHERE id = ? AND state = 'publishing' AND claimed_by IS NOT DISTINCT FROM ?"
                                    if self.placeholder != "?" else
                                    "UPDATE deliveries SET claimed_by = ?, lease_until = ?, updated_at = ? "
                                    "WHERE id = ? AND state = 'publishing' AND claimed_by IS ?",
                                    (worker, now_ms + lease_seconds * 1000, now_ms, delivery_id, previous))
                if cur2.rowcount:
                    taken.append(delivery_id)
        return [self.get(i) for i in taken]

    def extend_leases(self, ids: Sequence[int], *, worker: str, until: datetime) -> None:
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self.transaction() as cur:
            self.execute(cur, f"UPDATE deliveries SET lease_until = ? WHERE claimed_by = ? AND state = 'publishing' "
                              f"AND id IN ({marks})", (ms(until), worker, *ids))

    def save_progress(self, delivery_id: int, *, worker: str, progress: dict[str, Any]) -> bool:
        with self.transaction() as cur:
            cur = self.execute(cur, "UPDATE deliveries SET progress = ? WHERE id = ? AND claimed_by = ? "
                                    "AND state = 'publishing'", (json.dumps(redact_data(progress)), delivery_id, worker))
            return cur.rowcount == 1

    def finish(self, delivery_id: int, *, worker: str, state: State, now: datetime,
               remote_id: str | None = None, remote_url: str | None = None, error: str | None = None,
               attempt: Attempt | None = None) -> bool:
        """End a claim: published, failed or unknown. Returns False if the claim was lost."""
        return self._end_claim("UPDATE deliveries SET state = ?, remote_id = COALESCE(?, remote_id), "
                               "remote_url = COALESCE(?, remote_url), error = ?, claimed_by = NULL, "
                               "lease_until = NULL, updated_at = ? WHERE id = ? AND claimed_by = ? "
                               "AND state = 'publishing'",
                               (state.value, remote_id, remote_url, redact(error), ms(now), delivery_id, worker), attempt)

    def requeue(self, delivery_id: int, *, worker: str, run_at: datetime, now: datetime,
                error: str | None, attempt: Attempt | None = None, refund: bool = False) -> bool:
        """Back to `scheduled` for another try at run_at (retries and rate-limit waits)."""
        return self._end_claim("UPDATE deliveries SET state = 'scheduled', run_at = ?, error = ?, "
                               "claimed_by = NULL, lease_until = NULL, updated_at = ?, attempts = attempts - ? "
                               "WHERE id = ? AND claimed_by = ? AND state = 'publishing'",
                               (ms(run_at), redact(error), ms(now), 1 if refund else 0, delivery_id, worker), attempt)

    def _end_claim(self, update: str, params: Sequence[Any], attempt: Attempt | None) -> bool:
        """`update` changes one claimed delivery; if it did, the attempt is recorded with it, in one
        transaction. False if the claim was lost (the update matched nothing)."""
        with self.transaction() as cur:
            cur = self.execute(cur, update, params)
            ok = cur.rowcount == 1
            if ok and attempt:
                self._insert_attempt(cur, attempt)
        return ok

    def record_attempt(self, attempt: Attempt) -> None:
        with self.transaction() as cur:
            self._insert_attempt(cur, attempt)

    def _insert_attempt(self, cur, attempt: Attempt) -> None:
        self.execute(cur, f"INSERT INTO attempts {ATTEMPT_COLUMNS} VALUES (?, ?, ?, ?, ?, ?)", attempt_row(attempt))

    # ---- user actions ----------------------------------------------------------------------
    def _change(self, delivery_id: int, allowed: tuple[State, ...], sql: str, params: Sequence[Any],
                action: str) -> Delivery:
        with self.transaction() as cur:
            row = self.execute(cur, "SELECT state FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if row is None:
                raise UsageError(f"no delivery with id {delivery_id}; see `postbot list`")
            if State(row[0]) not in allowed:
                raise UsageError(f"delivery {delivery_id} is {row[0]}; only "
                                 f"{', '.join(s.value for s in allowed)} deliveries can be {action}")
            self.execute(cur, sql, (*params, delivery_id))
        return self.get(delivery_id)  # type: ignore[return-value]

    def cancel(self, delivery_id: int, now: datetime) -> Delivery:
        return self._change(delivery_id, (State.SCHEDULED, State.FAILED, State.UNKNOWN),
                            "UPDATE deliveries SET state = 'cancelled', updated_at = ? WHERE id = ?",
                            (ms(now),), "cancelled")

    def retry(self, delivery_id: int, now: datetime) -> Delivery:
        """Send again now. Thread parts already out stay out; the 'may have been sent' mark goes:
        retrying is the user's decision that it was not."""
        current = self.get(delivery_id)
        progress = {"done": current.progress["done"]} if current and current.progress.get("done") else {}
        return self._change(delivery_id, (State.FAILED, State.UNKNOWN, State.CANCELLED),
                            "UPDATE deliveries SET state = 'scheduled', run_at = ?, due_at = ?, attempts = 0, "
                            "error = NULL, progress = ?, updated_at = ? WHERE id = ?",
                            (ms(now), ms(now), json.dumps(progress), ms(now)), "retried")

    def reschedule(self, delivery_id: int, due: datetime, now: datetime) -> Delivery:
        return self._change(delivery_id, (State.SCHEDULED, State.FAILED, State.UNKNOWN, State.CANCELLED),
                            "UPDATE deliveries SET state = 'scheduled', run_at = ?, due_at = ?, attempts = 0, "
                            "error = NULL, updated_at = ? WHERE id = ?",
                            (ms(due), ms(due), ms(now)), "rescheduled")

    def mark_published(self, delivery_id: int, remote_url: str | None, now: datetime) -> Delivery:
        """A human checked: an `unknown` delivery did go out (at remote_url when known)."""
        return self._change(delivery_id, (State.UNKNOWN,),
                            "UPDATE deliveries SET state = 'published', remote_url = COALESCE(?, remote_url), "
                            "error = NULL, updated_at = ? WHERE id = ?", (remote_url, ms(now)), "marked published")

    # ---- reading ---------------------------------------------------------------------------
    def get(self, delivery_id: int) -> Delivery | None:
        with self.transaction() as cur:
            return (self._select(cur, "WHERE d.id = ?", (delivery_id,)) or [None])[0]

    def list(self, state: State | None = None, limit: int = 1000) -> list[Delivery]:
        where, params = ("WHERE d.state = ?", (state.value,)) if state else ("", ())
        with self.transaction() as cur:
            return self._select(cur, f"{where} ORDER BY d.due_at, d.id LIMIT ?", (*params, limit))

    def between(self, start: datetime, end: datetime | None = None, limit: int = 5000, *,
                states: Sequence[State] = (), last: bool = False) -> list[Delivery]:
        """Deliveries due in [start, end) (no end: every later one) in `states` (none given: every state),
        in due order: a calendar's page or its export. At most `limit`: the first ones, or the last."""
        where = "WHERE d.due_at >= ?" + ("" if end is None else " AND d.due_at < ?")
        where += f" AND d.state IN ({','.join('?' * len(states))})" if states else ""
        params = [ms(start), *([] if end is None else [ms(end)]), *(s.value for s in states), limit]
        order = "DESC" if last else "ASC"
        with self.transaction() as cur:
            found = self._select(cur, f"{where} ORDER BY d.due_at {order}, d.id {order} LIMIT ?", params)
        return found[::-1] if last else found

    def of_post(self, post_id: int) -> list[Delivery]:
        """Every delivery of one post, in due order."""
        with self.transaction() as cur:
            return self._select(cur, "WHERE d.post_id = ? ORDER BY d.due_at, d.id", (post_id,))

    def queued_before(self, slug: str, title: str, channels: Sequence[str]) -> list[Delivery]:
        """Deliveries of an earlier post with this slug and title to these channels that are still to
        go out, going out, or out (not cancelled or failed): what queueing it again would duplicate."""
        if not channels:
            return []
        marks = ", ".join("?" for _ in channels)
        with self.transaction() as cur:
            return self._select(cur, f"WHERE p.slug = ? AND p.title = ? AND d.channel IN ({marks}) "
                                     f"AND d.state IN ('scheduled', 'publishing', 'published', 'unknown') "
                                     f"ORDER BY d.id", (slug, title, *channels))

    def post_titles(self, post_ids) -> dict[int, str]:
        """Each post's title by id (ids with no post are left out): what a calendar entry is called."""
        ids = sorted({int(i) for i in post_ids})
        if not ids:
            return {}
        with self.transaction() as cur:
            rows = self.execute(cur, f"SELECT id, title FROM posts WHERE id IN ({', '.join('?' * len(ids))})",
                                tuple(ids)).fetchall()
        return {r[0]: r[1] for r in rows}

    def attempts(self, delivery_id: int) -> list[Attempt]:
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT delivery_id, at, status, error, latency_ms, outcome FROM attempts "
                                     "WHERE delivery_id = ? ORDER BY at, id", (delivery_id,)).fetchall()
        return [Attempt(r[0], from_ms(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def counts(self) -> dict[str, int]:
        """Deliveries per state (states with none left out). Published ones are most of a long-lived
        queue, so they are the total less the others (every row's state is one of State's): each
        other state is counted from its range of deliveries_state_due, and the total is the table's
        row count, which SQLite keeps cheap and PostgreSQL reads from an index once vacuumed."""
        others = [state.value for state in State if state is not State.PUBLISHED]
        with self.transaction() as cur:
            rows = self.execute(cur, f"SELECT state, COUNT(*) FROM deliveries WHERE state IN "
                                     f"({', '.join('?' * len(others))}) GROUP BY state", others).fetchall()
            total = self.execute(cur, "SELECT COUNT(*) FROM deliveries").fetchone()[0]
        found = {state: count for state, count in rows}
        published = total - sum(found.values())
        return found | ({State.PUBLISHED.value: published} if published else {})

    def next_run_at(self, now: datetime | None = None) -> datetime | None:
        """When the next scheduled delivery may go: the earliest on a channel that is not held, or
        the end of the earliest hold. Both read an index, so a daemon can ask on every wake."""
        now_ms = ms(now or datetime.now(UTC))
        with self.transaction() as cur:
            free = self.execute(cur, f"SELECT MIN(run_at) FROM {self.due_work} WHERE state = 'scheduled' "
                                     "AND channel NOT IN (SELECT channel FROM channel_holds WHERE until_at > ?)",
                                (now_ms,)).fetchone()[0]
            candidates = [free] if free is not None else []
            # Held channels are few: each one's earliest delivery goes when its hold ends.
            for channel, until in self.execute(cur, "SELECT channel, until_at FROM channel_holds WHERE until_at > ?",
                                               (now_ms,)).fetchall():
                first = self.execute(cur, "SELECT MIN(run_at) FROM deliveries WHERE channel = ? "
                                          "AND state = 'scheduled'", (channel,)).fetchone()[0]
                if first is not None:
                    candidates.append(max(first, until))
        return from_ms(min(candidates)) if candidates else None

    def taken_slots(self, channel: str, after: datetime) -> set[datetime]:
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT due_at FROM deliveries WHERE channel = ? AND due_at > ? "
                                     "AND state IN ('scheduled', 'publishing', 'published')",
                                (channel, ms(after))).fetchall()
        return {from_ms(r[0]) for r in rows}  # type: ignore[misc]

    def post_snapshot(self, post_id: int) -> dict[str, Any]:
        with self.transaction() as cur:
            row = self.execute(cur, "SELECT snapshot FROM posts WHERE id = ?", (post_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def _delivery(self, row: Sequence[Any]) -> Delivery:
        return Delivery(
            id=row[0], post_id=row[1], post_slug=row[2], channel=row[3], platform=row[4],
            due_at=from_ms(row[5]), next_attempt_at=from_ms(row[6]) if row[6] != row[5] else None,  # type: ignore[arg-type]
            state=State(row[7]), idempotency_key=row[8], attempts=row[9], remote_id=row[10],
            remote_url=row[11], error=row[12], parts=[Part.from_json(p) for p in json.loads(row[13])], progress=json.loads(row[14]),
            claimed_by=row[15], lease_until=from_ms(row[16]))
