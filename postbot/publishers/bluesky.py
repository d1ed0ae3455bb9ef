"""Bluesky (AT Protocol): app.bsky.feed.post records with link and tag facets."""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher

MAX_BYTES = 3000


class BlueskyPublisher(Publisher):
    platform = "bluesky"
    limit = 300
    supports_threads = True
    required = ("HANDLE", "APP_PASSWORD")

    def prepare(self, rendered: str) -> Prepared:
        display, facets = textlib.bluesky_facets(rendered)
        links = [feature["uri"] for facet in facets for feature in facet["features"]
                 if feature["$type"] == "app.bsky.richtext.facet#link"]
        return Prepared(display, links, {"facets": facets})

    def measure(self, prepared: Prepared) -> int:
        return textlib.grapheme_len(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        size = textlib.utf8_len(prepared.text)
        return [f"{size} UTF-8 bytes, over Bluesky's {MAX_BYTES}"] if size > MAX_BYTES else []

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": prepared.text}
        if prepared.extra.get("facets"):
            record["facets"] = prepared.extra["facets"]
        if post.lang:
            record["langs"] = [post.lang]
        return record


PUBLISHER = BlueskyPublisher
