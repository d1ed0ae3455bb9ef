"""X (Twitter) API v2: POST /2/tweets, twitter-text v3 weighted length."""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher


class XPublisher(Publisher):
    platform = "x"
    limit = 280
    supports_threads = True
    required = ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")

    def prepare(self, rendered: str) -> Prepared:
        return Prepared(rendered, [url for _, _, url in textlib.x_url_spans(rendered)])

    def measure(self, prepared: Prepared) -> int:
        return textlib.x_length(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        return {"text": prepared.text}

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if prepared.links:
            return ["X bills a post with a URL at $0.20 instead of $0.015 (pay-per-use pricing "
                    "since 2026-04-20); drop the links for X to pay less"]
        return []


PUBLISHER = XPublisher
