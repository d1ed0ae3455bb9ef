"""Telegram Bot API: sendMessage in HTML parse mode (sendPhoto with a caption for images)."""
from __future__ import annotations

import html
import re
from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher

CAPTION_LIMIT = 1024
_TAG = re.compile(r"<[^>]+>")
_HREF = re.compile(r'<a href="([^"]+)">')


def visible_text(markup: str) -> str:
    """What Telegram counts: the text after entity parsing (tags gone, entities decoded)."""
    return html.unescape(_TAG.sub("", markup))


class TelegramPublisher(Publisher):
    platform = "telegram"
    limit = 4096
    all_ctas = True
    teaser_max = 1200
    required = ("BOT_TOKEN", "CHAT_ID")

    def escape(self, value: str) -> str:
        return html.escape(value, quote=False)

    def link(self, url: str, label: str | None = None) -> str:
        href = html.escape(url, quote=True)
        return f'<a href="{href}">{html.escape(label or url, quote=False)}</a>'

    def limit_for(self, post: Post | None = None) -> int:
        return CAPTION_LIMIT if post is not None and post.image else self.limit

    def prepare(self, rendered: str) -> Prepared:
        links = [html.unescape(h) for h in _HREF.findall(rendered)]
        for url in textlib.find_urls(visible_text(rendered)):
            if url not in links:
                links.append(url)
        return Prepared(rendered, links)

    def measure(self, prepared: Prepared) -> int:
        return textlib.utf16_len(visible_text(prepared.text))

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        chat = self.channel.setting("CHAT_ID", "")
        if post.image:
            return {"chat_id": chat, "photo": post.image, "caption": prepared.text, "parse_mode": "HTML"}
        payload: dict[str, Any] = {"chat_id": chat, "text": prepared.text, "parse_mode": "HTML"}
        preview_url = post.url or (prepared.links[0] if prepared.links else None)
        payload["link_preview_options"] = ({"url": preview_url, "prefer_large_media": True}
                                           if preview_url else {"is_disabled": True})
        return payload


PUBLISHER = TelegramPublisher
