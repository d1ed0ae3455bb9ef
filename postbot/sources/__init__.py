"""Sources make posts by themselves and queue them through the same path as `postbot queue`.

* feeds.py       RSS, Atom and JSON Feed polling (conditional requests, Retry-After, Cache-Control)
* feed_parse.py  feed documents -> items (feedparser; JSON Feed mapped by hand), items -> posts
* folder.py      a watched folder of post files (`postbot run --watch DIR`)
* intake.py      what every source shares: remembered items -> posts in the channels' next free slots

The daemon calls `Sources.tick(now)` from a worker thread every SOURCES_TICK; `run --once` calls it
once before publishing. Time is always passed in.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger("postbot.sources")
SOURCES_TICK = timedelta(seconds=30)


class Sources:
    """The feeds in the store and the watched folders, polled together."""

    def __init__(self, settings, store, *, watch: list[Path] | None = None, client=None):
        self.settings, self.store = settings, store
        self.watch = list(watch or [])
        self.client = client
        self._feeds = None

    def tick(self, now: datetime) -> list[str]:
        """Poll due feeds and scan watched folders; one line per thing that happened."""
        lines: list[str] = []
        if self._feeds is None:
            from postbot.sources.feeds import FeedPoller
            self._feeds = FeedPoller(self.settings, self.store, client=self.client)
        for result in self._feeds.poll_due(now):
            lines.append(f"feed {result.feed.name}: {result.result}")
        for folder in self.watch:
            from postbot.sources.folder import scan
            summary = scan(self.settings, self.store, folder, now)
            if summary:
                lines.append(f"folder {folder}: {summary}")
        return lines

    def close(self) -> None:
        if self._feeds is not None and self.client is None:
            self._feeds.close()
