"""LinkedIn Posts API: commentary in little-text format, article content for the post's link."""
from __future__ import annotations

import re
from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher

# Little-text reserved characters. Unescaped, LinkedIn silently truncates the post there.
RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def escape_little_text(value: str) -> str:
    return RESERVED.sub(r"\\\1", value)


def unescape_little_text(value: str) -> str:
    return re.sub(r"\\([\\|{}@\[\]()<>#*_~])", r"\1", value)


class LinkedInPublisher(Publisher):
    platform = "linkedin"
    limit = 3000
    fold = 210
    all_ctas = True
    teaser_max = 1300
    required = ("ACCESS_TOKEN", "AUTHOR")

    def prepare(self, rendered: str) -> Prepared:
        return Prepared(escape_little_text(rendered), textlib.find_urls(rendered))

    def measure(self, prepared: Prepared) -> int:
        # The limit's unit is undocumented; UTF-16 units of the escaped text is the strictest reading.
        return textlib.utf16_len(prepared.text)

    def fold_index(self, prepared: Prepared) -> int | None:
        shown = unescape_little_text(prepared.text)
        if len(shown) <= self.fold:
            return None
        # Map the fold from what members see back into the escaped text.
        index = count = 0
        while index < len(prepared.text) and count < self.fold:
            index += 2 if prepared.text[index] == "\\" else 1
            count += 1
        return index

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "author": self.channel.setting("AUTHOR", "urn:li:person:UNSET"),
            "commentary": prepared.text,
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.url:
            article: dict[str, Any] = {"source": post.url, "title": post.title}
            description = (post.teaser or post.body or "")[:200].strip()
            if description:
                article["description"] = description
            payload["content"] = {"article": article}
        return payload


PUBLISHER = LinkedInPublisher
