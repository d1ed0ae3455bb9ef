"""Discord webhooks: always ?wait=true, content within 2000, an embed for the link card."""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher


class DiscordPublisher(Publisher):
    platform = "discord"
    limit = 2000
    teaser_max = 800
    required = ("WEBHOOK_URL",)

    def measure(self, prepared: Prepared) -> int:
        return textlib.utf16_len(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"content": prepared.text, "allowed_mentions": {"parse": []}}
        if post.url:
            embed: dict[str, Any] = {"url": post.url, "title": post.title[:256]}
            description = (post.teaser or post.body or "")[:300].strip()
            if description:
                embed["description"] = description
            payload["embeds"] = [embed]
        return payload


PUBLISHER = DiscordPublisher
