"""Facebook Pages: POST /{page-id}/feed with message and link."""
from __future__ import annotations

from typing import Any

from postbot import text as textlib
from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher


class FacebookPublisher(Publisher):
    platform = "facebook"
    limit = 63206
    fold = 480
    all_ctas = True
    teaser_max = 1000
    required = ("PAGE_ID", "PAGE_TOKEN")

    def measure(self, prepared: Prepared) -> int:
        return textlib.utf16_len(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"message": prepared.text}
        if post.url:
            payload["link"] = post.url
        return payload


PUBLISHER = FacebookPublisher
