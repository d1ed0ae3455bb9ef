"""Mastodon: POST /api/v1/statuses with an Idempotency-Key; per-instance limits."""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher

DEFAULT_LIMIT = 500


class MastodonPublisher(Publisher):
    platform = "mastodon"
    limit = DEFAULT_LIMIT
    dedupes = True
    supports_threads = True
    required = ("URL", "ACCESS_TOKEN")

    def limit_for(self, post: Post | None = None) -> int:
        return int(self.state.get("max_characters", DEFAULT_LIMIT))

    def url_length(self) -> int:
        return int(self.state.get("characters_reserved_per_url", 23))

    def measure(self, prepared: Prepared) -> int:
        spoiler = prepared.extra.get("spoiler_text") or ""
        return textlib.mastodon_length(spoiler + prepared.text, self.url_length())

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"status": prepared.text,
                                   "visibility": post.visibility or self.channel.setting("VISIBILITY", "public")}
        if post.lang:
            payload["language"] = post.lang.split("-")[0]
        warning = post.content_warning or self.channel.setting("CONTENT_WARNING")
        if warning:
            payload["spoiler_text"] = warning
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if self.state.get("max_characters") is None:
            return [f"instance limit unknown (set {self.channel.var('URL')} and make it reachable); "
                    f"assuming {DEFAULT_LIMIT}"]
        return []


PUBLISHER = MastodonPublisher
