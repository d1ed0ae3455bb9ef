"""The store's per-channel memory: holds (a channel paused until a time, e.g. after a 429) and
channel state (sessions, renewed tokens, cached limits, daemons' heartbeats), as key -> JSON value.

Contract (every method is one transaction):
  hold_channel(channel, until, reason), holds(now)      channels the claim skips until then
  state_get, state_set, state_items, all_state         per-channel memory
  state_setdefault, state_delete                       a value set once (by whichever process is first), forgotten
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from postbot.redact import redact
from postbot.store.clock import from_ms, ms

HEARTBEATS = "postbot:daemons"      # channel_state name under which each daemon says it is alive


class ChannelsSQL:
    """Mixed into SQLStore; uses its transaction() and execute()."""

    def hold_channel(self, channel: str, until: datetime, reason: str) -> None:
        with self.transaction() as cur:
            self.execute(cur, "INSERT INTO channel_holds (channel, until_at, reason) VALUES (?, ?, ?) "
                              "ON CONFLICT (channel) DO UPDATE SET until_at = excluded.until_at, "
                              "reason = excluded.reason", (channel, ms(until), redact(reason)))

    def holds(self, now: datetime) -> dict[str, tuple[datetime, str]]:
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT channel, until_at, reason FROM channel_holds WHERE until_at > ?",
                                (ms(now),)).fetchall()
        return {c: (from_ms(u), r) for c, u, r in rows}

    def state_get(self, channel: str, key: str) -> Any:
        with self.transaction() as cur:
            row = self.execute(cur, "SELECT value FROM channel_state WHERE channel = ? AND key = ?",
                               (channel, key)).fetchone()
        return json.loads(row[0]) if row else None

    def state_items(self, channel: str) -> dict[str, Any]:
        """Every key a channel's memory holds (daemons' heartbeats live under one such name)."""
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT key, value FROM channel_state WHERE channel = ?", (channel,)).fetchall()
        return {key: json.loads(value) for key, value in rows}

    def state_set(self, channel: str, key: str, value: Any) -> None:
        with self.transaction() as cur:
            self.execute(cur, "INSERT INTO channel_state (channel, key, value) VALUES (?, ?, ?) "
                              "ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value",
                         (channel, key, json.dumps(value)))

    def state_setdefault(self, channel: str, key: str, value: Any) -> Any:
        """The value kept under `key`, setting it to `value` first if there is none: of several processes
        asking at once, the first one's value is the one every process gets."""
        with self.transaction(claim=True) as cur:
            self.execute(cur, "INSERT INTO channel_state (channel, key, value) VALUES (?, ?, ?) "
                              "ON CONFLICT (channel, key) DO NOTHING", (channel, key, json.dumps(value)))
            row = self.execute(cur, "SELECT value FROM channel_state WHERE channel = ? AND key = ?",
                               (channel, key)).fetchone()
        return json.loads(row[0])

    def state_delete(self, channel: str, key: str) -> None:
        with self.transaction() as cur:
            self.execute(cur, "DELETE FROM channel_state WHERE channel = ? AND key = ?", (channel, key))

    def all_state(self) -> list[tuple[str, str, Any]]:
        """Every (channel, key, value) remembered, e.g. to carry it into another store."""
        with self.transaction() as cur:
            rows = self.execute(cur, "SELECT channel, key, value FROM channel_state ORDER BY channel, key").fetchall()
        return [(channel, key, json.loads(value)) for channel, key, value in rows]
