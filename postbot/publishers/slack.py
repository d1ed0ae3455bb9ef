"""Slack incoming webhooks: mrkdwn text with & < > escaped and <url|label> links."""
from __future__ import annotations

import re
from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher

_LINK = re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>")


def escape_mrkdwn(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackPublisher(Publisher):
    platform = "slack"
    limit = 40000
    all_ctas = True
    teaser_max = 700
    required = ("WEBHOOK_URL",)

    def escape(self, value: str) -> str:
        return escape_mrkdwn(value)

    def link(self, url: str, label: str | None = None) -> str:
        target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        if not label:
            return f"<{target}>"
        return f"<{target}|{escape_mrkdwn(label).replace('|', '¦')}>"

    def prepare(self, rendered: str) -> Prepared:
        links = [m.group(1).replace("&amp;", "&") for m in _LINK.finditer(rendered)]
        bare = _LINK.sub(" ", rendered)
        links += [u for u in textlib.find_urls(bare) if u not in links]
        return Prepared(rendered, links)

    def measure(self, prepared: Prepared) -> int:
        return len(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        return {"text": prepared.text}


PUBLISHER = SlackPublisher
