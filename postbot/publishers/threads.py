"""Threads (Meta): a TEXT container, then threads_publish."""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher

MAX_LINKS = 5


class ThreadsPublisher(Publisher):
    platform = "threads"
    limit = 500
    required = ("USER_ID", "ACCESS_TOKEN")

    def measure(self, prepared: Prepared) -> int:
        return textlib.threads_length(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        distinct = len(set(prepared.links))
        return [f"{distinct} distinct links, Threads allows {MAX_LINKS}"] if distinct > MAX_LINKS else []

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"media_type": "TEXT", "text": prepared.text}
        if post.url:
            payload["link_attachment"] = post.url
        return payload


PUBLISHER = ThreadsPublisher
