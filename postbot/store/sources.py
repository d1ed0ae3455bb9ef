"""The store's memory of sources: feeds and their poll state, every item a source has seen, notices.

Contract (every method is one transaction):
  add_feed, feeds, feed, remove_feed          the feeds the daemon polls
  claim_feeds(now, lease_seconds)             due feeds, pushed past the lease so one daemon polls each
  finish_poll(feed_id, ...)                   the poll's outcome and the items it found, together, so
                                              the validators (ETag, Last-Modified) never move ahead of
                                              the items they stand for
  seen_before(source)                         whether a source has had its first look
  unseen(source, items)                       which items a source has not seen (for dry runs)
  record_items(source, items, now, first_take)  remember items; on a source's first sight only the
                                              newest `first_take` become `new`, the rest `skipped`
  pending_items, source_items, item_counts, fail_item
  add_post(..., source_item=ID)               (in base) queues an item's post and marks it `queued`
                                              in the same transaction, or nothing at all
  add_notice, notices                         things a human should read in `status`

An item is known by its guid and by its normalised link: either match means "seen", so an edited
item, a re-ordered feed or a changed guid on the same link is never queued twice.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from postbot.errors import StoreError, UsageError
from postbot.models import Feed, SourceItem
from postbot.redact import redact
from postbot.store.clock import from_ms, ms

_FEED_COLUMNS = ("id, url, name, options, next_poll_at, etag, last_modified, last_poll_at, last_status, "
                 "last_result")
_ITEM_COLUMNS = "id, source, guid, link, title, state, item, post_id, detail, seen_at"
KEEP = object()     # finish_poll: leave this validator as it is


class ItemTaken(StoreError):
    """Another process queued this source item first (or it is no longer new)."""


class SourcesSQL:
    """Mixed into SQLStore; uses its transaction() and execute()."""

    # ---- feeds ---------------------------------------------------------------------------------
    def add_feed(self, *, url: str, name: str, options: dict[str, Any], now: datetime) -> Feed:
        with self.transaction() as cur:
            taken = self.execute(cur, "SELECT url, name FROM feeds WHERE url = ? OR name = ?", (url, name)).fetchone()
            if taken:
                what = f"the feed {url}" if taken[0] == url else f"the name {name!r}"
                raise UsageError(f"{what} is already added (see `postbot feeds list`); "
                                 f"remove it first with `postbot feeds remove {taken[1]}`")
            row = self.execute(cur, "INSERT INTO feeds (url, name, options, next_poll_at, created_at) "
                                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                               (url, name, json.dumps(options), ms(now), ms(now))).fetchone()
        return self.feed(str(row[0]))  # type: ignore[return-value]

    def feeds(self) -> list[Feed]:
        with self.transaction() as cur:
            rows = self.execute(cur, f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY id").fetchall()
        return [self._feed(r) for r in rows]

    def feed(self, ref: str) -> Feed | None:
        """A feed by id, name or URL."""
        with self.transaction() as cur:
            row = self.execute(cur, f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ? OR name = ? "
                                    f"OR CAST(id AS TEXT) = ?", (ref, ref, ref)).fetchone()
        return self._feed(row) if row else None

    def remove_feed(self, feed_id: int) -> None:
        """The feed goes; what it queued stays queued and its items stay remembered."""
        with self.transaction() as cur:
            self.execute(cur, "DELETE FROM feeds WHERE id = ?", (feed_id,))

    def claim_feeds(self, now: datetime, *, lease_seconds: int) -> list[Feed]:
        """Feeds due for a poll. Each is pushed `lease_seconds` ahead first, so another daemon skips
        it; finish_poll sets the real next time."""
        now_ms = ms(now)
        with self.transaction(claim=True) as cur:
            ids = [r[0] for r in self.execute(cur, "SELECT id FROM feeds WHERE next_poll_at <= ? ORDER BY "
                                                   "next_poll_at, id", (now_ms,)).fetchall()]
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            self.execute(cur, f"UPDATE feeds SET next_poll_at = ? WHERE id IN ({marks})",
                         (now_ms + lease_seconds * 1000, *ids))
            rows = self.execute(cur, f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id IN ({marks}) ORDER BY id",
                                ids).fetchall()
        return [self._feed(r) for r in rows]

    def next_feed_poll(self) -> datetime | None:
        with self.transaction() as cur:
            value = self.execute(cur, "SELECT MIN(next_poll_at) FROM feeds").fetchone()[0]
        return from_ms(value)

    def finish_poll(self, feed_id: int, *, now: datetime, status: int | None, result: str,
                    next_poll_at: datetime, etag: Any = KEEP, last_modified: Any = KEEP,
                    items: Sequence[dict[str, Any]] = (), first_take: int = 1) -> list[int]:
        """Record a poll: its status, result and next time, the validators, and the items found
        (oldest first). Returns the ids of items that became `new`."""
        with self.transaction() as cur:
            new_ids = self._record(cur, f"feed:{feed_id}", items, now, first_take)
            sets, params = ["last_poll_at = ?", "last_status = ?", "last_result = ?", "next_poll_at = ?"], \
                [ms(now), status, redact(result), ms(next_poll_at)]
            if etag is not KEEP:
                sets.append("etag = ?")
                params.append(etag)
            if last_modified is not KEEP:
                sets.append("last_modified = ?")
                params.append(last_modified)
            self.execute(cur, f"UPDATE feeds SET {', '.join(sets)} WHERE id = ?", (*params, feed_id))
        return new_ids

    # ---- items ---------------------------------------------------------------------------------
    def record_items(self, source: str, items: Sequence[dict[str, Any]], now: datetime,
                     first_take: int | None = None) -> list[int]:
        """Remember items (oldest first: {guid, link, title, item}). first_take=None: every unseen
        item becomes `new` even on the source's first sight."""
        with self.transaction() as cur:
            return self._record(cur, source, items, now, first_take)

    def _record(self, cur, source: str, items: Sequence[dict[str, Any]], now: datetime,
                first_take: int | None) -> list[int]:
        first = self.execute(cur, "INSERT INTO sources_seen (source, first_seen_at) VALUES (?, ?) "
                                  "ON CONFLICT (source) DO NOTHING", (source, ms(now))).rowcount == 1
        first = first and first_take is not None
        unseen = []
        for item in items:
            link = item.get("link")
            known = self.execute(cur, "SELECT id FROM source_items WHERE source = ? AND (guid = ? OR link = ?)",
                                 (source, item["guid"], link)).fetchone()
            if known is None and not any(u["guid"] == item["guid"] or (link and u.get("link") == link)
                                         for u in unseen):
                unseen.append(item)
        keep_from = max(0, len(unseen) - first_take) if first and first_take is not None else 0
        new_ids = []
        for index, item in enumerate(unseen):
            state = "new" if index >= keep_from else "skipped"
            detail = None if state == "new" else "seen on the first poll; only the newest are queued"
            row = self.execute(cur, "INSERT INTO source_items (source, guid, link, title, state, item, detail, "
                                    "seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                               (source, item["guid"], item.get("link"), item["title"], state,
                                json.dumps(item.get("item", {})), detail, ms(now))).fetchone()
            if state == "new":
                new_ids.append(row[0])
        return new_ids

    def unseen(self, source: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items (as given to record_items) this source has not seen by guid or link; changes nothing."""
        with self.transaction() as cur:
            return [item for item in items if self.execute(
                cur, "SELECT 1 FROM source_items WHERE source = ? AND (guid = ? OR link = ?)",
                (source, item["guid"], item.get("link"))).fetchone() is None]

    def seen_before(self, source: str) -> bool:
        """Whether this source has had its first look (its first poll or scan was recorded)."""
        with self.transaction() as cur:
            return self.execute(cur, "SELECT 1 FROM sources_seen WHERE source = ?", (source,)).fetchone() is not None

    def pending_items(self, source: str | None = None, limit: int = 500) -> list[SourceItem]:
        """Items seen but not yet queued, oldest first: after a crash these are still here."""
        where, params = ("AND source = ?", (source,)) if source else ("", ())
        with self.transaction() as cur:
            rows = self.execute(cur, f"SELECT {_ITEM_COLUMNS} FROM source_items WHERE state = 'new' {where} "
                                     f"ORDER BY id LIMIT ?", (*params, limit)).fetchall()
        return [self._item(r) for r in rows]

    def source_items(self, source: str, limit: int = 100) -> list[SourceItem]:
        """A source's items, newest first."""
        with self.transaction() as cur:
            rows = self.execute(cur, f"SELECT {_ITEM_COLUMNS} FROM source_items WHERE source = ? "
                                     f"ORDER BY id DESC LIMIT ?", (source, limit)).fetchall()
        return [self._item(r) for r in rows]

    def item_counts(self, source: str) -> dict[str, int]:
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT state, COUNT(*) FROM source_items WHERE source = ? GROUP BY state",
                                (source,)).fetchall()
        return {state: count for state, count in rows}

    def fail_item(self, item_id: int, detail: str) -> None:
        """An item that cannot become a post (it does not fit, a bad file): reported, never retried."""
        with self.transaction() as cur:
            self.execute(cur, "UPDATE source_items SET state = 'failed', detail = ? WHERE id = ? AND state = 'new'",
                         (redact(detail), item_id))

    def _take_item(self, cur, item_id: int, post_id: int) -> None:
        """Inside add_post's transaction: the item becomes `queued`, or the whole post is undone."""
        done = self.execute(cur, "UPDATE source_items SET state = 'queued', post_id = ?, detail = NULL "
                                 "WHERE id = ? AND state = 'new'", (post_id, item_id)).rowcount
        if done != 1:
            raise ItemTaken(f"source item {item_id} was already queued")

    # ---- notices -------------------------------------------------------------------------------
    def add_notice(self, subject: str, message: str, now: datetime) -> None:
        with self.transaction() as cur:
            self.execute(cur, "INSERT INTO notices (at, subject, message) VALUES (?, ?, ?)",
                         (ms(now), subject, redact(message)))

    def notices(self, since: datetime | None = None, limit: int = 20) -> list[tuple[datetime, str, str]]:
        """The latest notices, newest first: (at, subject, message)."""
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT at, subject, message FROM notices WHERE at >= ? "
                                     "ORDER BY at DESC, id DESC LIMIT ?",
                                (ms(since) if since else 0, limit)).fetchall()
        return [(from_ms(a), s, m) for a, s, m in rows]  # type: ignore[misc]

    # ---- rows ----------------------------------------------------------------------------------
    def _feed(self, row: Sequence[Any]) -> Feed:
        return Feed(id=row[0], url=row[1], name=row[2], options=json.loads(row[3]),
                    next_poll_at=from_ms(row[4]), etag=row[5], last_modified=row[6],  # type: ignore[arg-type]
                    last_poll_at=from_ms(row[7]), last_status=row[8], last_result=row[9])

    def _item(self, row: Sequence[Any]) -> SourceItem:
        return SourceItem(id=row[0], source=row[1], guid=row[2], link=row[3], title=row[4], state=row[5],
                          item=json.loads(row[6]), post_id=row[7], detail=row[8], seen_at=from_ms(row[9]))
