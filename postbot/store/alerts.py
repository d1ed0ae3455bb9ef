"""The store's alerts: events (each once, by its key), the digests that carried them, and the failed
and unknown deliveries they are noticed from. A digest is an ordinary post with one ordinary delivery
per alert channel, written in the same transaction that marks its events sent.

Contract (every method is one transaction):
  finished_badly_after(after, until, limit)   (delivery, when it changed) for failed/unknown ones after
                                     a place (moment, id), in that order: one page; digests left out
  add_alert_events(events)           record new events (their messages redacted); returns the keys that were new
  pending_alerts(), alert_events()   events waiting for a digest; the latest events
  last_alert_digests()               kind -> when its last digest went
  add_alert_digest(kind, keys, posts, now)   the digest's posts and deliveries, its events marked sent;
                                     None (nothing written) when another process took any of them first
  alert_deliveries(states)           the digests' deliveries in those states
  state_setdefault(...), state_delete(...): see store/channels.py
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from postbot.models import AlertEvent, Delivery, State
from postbot.redact import redact
from postbot.store.clock import from_ms, ms

_EVENT_COLUMNS = "key, kind, subject, message, at, sent_at"
_NOT_A_DIGEST = "d.post_id NOT IN (SELECT post_id FROM alert_posts)"


class _Taken(Exception):
    """Another process folded one of these events into its digest first: write nothing."""


class AlertsSQL:
    """Mixed into SQLStore; uses its transaction(), execute(), _insert_posts() and _select()."""

    def finished_badly_after(self, after: tuple[datetime, int], *, until: datetime | None = None,
                             limit: int = 1000) -> list[tuple[Delivery, datetime]]:
        """Deliveries that became failed or unknown after the place `after` (when one changed, its id),
        with that moment (what an alert's key is made of), in that order, at most `limit`; with `until`,
        only those that changed at or before it. Read page by page: the last one's (moment, id) is the
        next page's `after`. An alert digest's own deliveries are left out, so alerts never alert
        about alerts."""
        since, after_id = ms(after[0]), after[1]
        bound, params = "", [since, since, after_id]
        if until is not None:
            bound = "AND d.updated_at <= ? "
            params.append(ms(until))
        with self.transaction() as cur:
            # `updated_at >= ?` is the range the partial index deliveries_finished_badly serves; the
            # OR only drops what the place itself has passed within its millisecond.
            changed = dict(self.execute(cur, "SELECT d.id, d.updated_at FROM deliveries d "
                                             "WHERE d.state IN ('failed', 'unknown') AND d.updated_at >= ? "
                                             f"AND (d.updated_at > ? OR d.id > ?) {bound}"
                                             f"AND {_NOT_A_DIGEST} ORDER BY d.updated_at, d.id LIMIT ?",
                                        (*params, limit)).fetchall())
            if not changed:
                return []
            marks = ",".join("?" * len(changed))
            found = {d.id: d for d in self._select(cur, f"WHERE d.id IN ({marks})", list(changed))}
        # In the page's order; on PostgreSQL one may have left these states between the two reads.
        return [(found[key], from_ms(at)) for key, at in changed.items()
                if key in found and found[key].state in (State.FAILED, State.UNKNOWN)]

    def add_alert_events(self, events: Sequence[AlertEvent]) -> list[str]:
        if not events:
            return []
        with self.transaction() as cur:
            marks = ",".join("?" * len(events))
            known = {row[0] for row in self.execute(cur, f"SELECT key FROM alert_events WHERE key IN ({marks})",
                                                    [e.key for e in events]).fetchall()}
            new = [e for e in {e.key: e for e in events}.values() if e.key not in known]
            cur.executemany(self.q("INSERT INTO alert_events (key, kind, subject, message, at) VALUES (?, ?, ?, ?, ?) "
                                   "ON CONFLICT (key) DO NOTHING"),
                            [(e.key, e.kind, e.subject, redact(e.message), ms(e.at)) for e in new])
        return [e.key for e in new]

    def pending_alerts(self) -> list[AlertEvent]:
        with self.transaction() as cur:
            rows = self.execute(cur, f"SELECT {_EVENT_COLUMNS} FROM alert_events WHERE sent_at IS NULL "
                                     "ORDER BY at, key").fetchall()
        return [_event(row) for row in rows]

    def alert_events(self, limit: int = 20) -> list[AlertEvent]:
        """The latest events, newest first, sent or not."""
        with self.transaction() as cur:
            rows = self.execute(cur, f"SELECT {_EVENT_COLUMNS} FROM alert_events ORDER BY at DESC, key LIMIT ?",
                                (limit,)).fetchall()
        return [_event(row) for row in rows]

    def last_alert_digests(self) -> dict[str, datetime]:
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT kind, MAX(sent_at) FROM alert_events WHERE sent_at IS NOT NULL "
                                     "GROUP BY kind").fetchall()
        return {kind: from_ms(at) for kind, at in rows}  # type: ignore[misc]

    def add_alert_digest(self, kind: str, keys: Sequence[str], posts: list[dict[str, Any]],
                         now: datetime) -> list[Delivery] | None:
        """Mark the events `keys` sent at `now` and store `posts` (as add_posts takes them, one per alert
        channel; none when no channel is left to tell) as alert digests, all in one transaction."""
        try:
            with self.transaction(claim=True) as cur:
                marks = ",".join("?" * len(keys))
                marked = self.execute(cur, f"UPDATE alert_events SET sent_at = ? WHERE sent_at IS NULL "
                                           f"AND key IN ({marks})", (ms(now), *keys)).rowcount
                if marked != len(set(keys)):
                    raise _Taken()
                post_ids = self._insert_posts(cur, posts, now)
                cur.executemany(self.q("INSERT INTO alert_posts (post_id, kind, at) VALUES (?, ?, ?)"),
                                [(post_id, kind, ms(now)) for post_id in post_ids])
                return self._deliveries_of(cur, post_ids)
        except _Taken:
            return None

    def alert_deliveries(self, states: Sequence[State], limit: int = 20) -> list[Delivery]:
        """The alert digests' deliveries in these states, newest first."""
        marks = ",".join("?" * len(states))
        with self.transaction() as cur:
            return self._select(cur, f"WHERE d.state IN ({marks}) AND d.post_id IN (SELECT post_id FROM alert_posts) "
                                     f"ORDER BY d.id DESC LIMIT ?", (*(s.value for s in states), limit))


def _event(row: Sequence[Any]) -> AlertEvent:
    return AlertEvent(row[0], row[1], row[2], row[3], from_ms(row[4]), from_ms(row[5]))  # type: ignore[arg-type]
