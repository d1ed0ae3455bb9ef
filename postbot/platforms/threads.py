"""Threads (Meta): a 500-character text with at most 5 distinct links; a TEXT container, then threads_publish.

The container steps (create, poll, publish, recover from the saved container) are meta.ContainerSender's.
"""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.platforms.base import Prepared, Rules
from postbot.platforms.meta import ContainerSender

MAX_LINKS = 5
DEFAULT_API_URL = "https://graph.threads.net/v1.0"


class ThreadsRules(Rules):
    platform = "threads"
    label = "Threads"
    color = "#101010"
    limit = 500

    def measure(self, prepared: Prepared) -> int:
        return textlib.threads_length(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        return self._link_problems(set(prepared.links))

    def tally(self, piece: str, post: Post | None = None, first: bool = True) -> tuple:
        return textlib.threads_length(piece), frozenset(textlib.find_urls(piece))

    def judge(self, tally: tuple) -> tuple[int, list[str]]:
        return tally[0], self._link_problems(tally[1])

    @staticmethod
    def _link_problems(links: set[str] | frozenset[str]) -> list[str]:
        distinct = len(links)
        return [f"{distinct} distinct links, Threads allows {MAX_LINKS}"] if distinct > MAX_LINKS else []

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"media_type": "TEXT", "text": prepared.text}
        links = set(prepared.links)
        # The preview card's link may count toward the 5 distinct links: never let it be the sixth.
        if post.url and (post.url in links or len(links) < MAX_LINKS):
            payload["link_attachment"] = post.url
        # One topic tag per post: named explicitly, so Threads need not guess it from the text.
        from postbot.text import hashtags
        topic = next((d.text for d in hashtags.decide_all(self.platform, post.tags) if d.clickable), None)
        if topic:
            payload["topic_tag"] = topic
        return payload


class ThreadsSender(ContainerSender):
    kind = "threads"
    rules_class = ThreadsRules
    label = "Threads"
    default_api_url = DEFAULT_API_URL
    create_edge = "threads"
    publish_edge = "threads_publish"
    status_field = "status"
    status_fields = "status,id,error_message"
    text_field = "text"
    refresh_grant = "th_refresh_token"
    progress_key = "threads_container"


RULES = ThreadsRules
SENDER = ThreadsSender
