"""Instagram Content Publishing: image container, status poll, media_publish."""
from __future__ import annotations

from typing import Any

from postbot.models import Post
from postbot.publishers.base import Prepared, Publisher


class InstagramPublisher(Publisher):
    platform = "instagram"
    limit = 2200
    fold = 125
    link_in_bio = True
    teaser_max = 900
    required = ("USER_ID", "ACCESS_TOKEN")

    def prepare(self, rendered: str) -> Prepared:
        # Links in captions are not clickable; the template writes 'link in bio' instead.
        from postbot import text as textlib
        return Prepared(rendered, textlib.find_urls(rendered))

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"caption": prepared.text}
        if post.image:
            payload["image_url"] = post.image
            if post.image_alt:
                payload["alt_text"] = post.image_alt
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if not post.image:
            return ["Instagram cannot publish without an image; add 'image' to the post"]
        return []


PUBLISHER = InstagramPublisher
