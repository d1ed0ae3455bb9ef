"""Instagram: a caption in UTF-16 units with hashtag and mention caps; image container, poll, media_publish.

Two ways in: Instagram Login (graph.instagram.com, a token that renews itself) or Facebook Login
(graph.facebook.com with <NAME>_LOGIN=facebook: the long-lived user token of someone who manages the Page
the account is connected to; `postbot connect instagram` sets this up).

Instagram has no text-only posts: every post needs a public JPEG URL, so a post without one
is refused when it is queued. Local images are published from <NAME>_IMAGE_BASE_URL (upload
the file there under the same name). The container id is saved before publishing, like
Threads, so a crash or a retry polls the saved container and never publishes twice.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from postbot import text as textlib
from postbot.models import Post
from postbot.platforms.base import Prepared, Rules
from postbot.platforms.media import is_remote, needs_public_url, public_image_url
from postbot.platforms.meta import ContainerSender

DEFAULT_API_URL = "https://graph.instagram.com/v25.0"
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
HASHTAG = re.compile(r"(?<![\w&])#\w+")
MENTION = re.compile(r"(?<![\w.])@[\w.]+")
JPEG_SUFFIXES = (".jpg", ".jpeg")
JPEG_MAGIC = b"\xff\xd8\xff"


class InstagramRules(Rules):
    platform = "instagram"
    label = "Instagram"
    color = "#d62976"
    limit = 2200
    fold = 125
    link_in_bio = True
    teaser_max = 900

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        # Links in captions are not clickable; the template writes 'link in bio' instead.
        return Prepared(rendered, textlib.find_urls(rendered))

    def measure(self, prepared: Prepared) -> int:
        # The caption limit's unit is undocumented; UTF-16 units is the strictest reading.
        return textlib.utf16_len(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        problems = []
        hashtags = len(HASHTAG.findall(prepared.text))
        if hashtags > MAX_HASHTAGS:
            problems.append(f"{hashtags} hashtags, Instagram allows {MAX_HASHTAGS}")
        mentions = len(MENTION.findall(prepared.text))
        if mentions > MAX_MENTIONS:
            problems.append(f"{mentions} @-mentions, Instagram allows {MAX_MENTIONS}")
        return problems

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"caption": prepared.text}
        if post.image:
            payload["image_url"] = public_image_url(post.image, self.image_base()) or post.image
            if post.image_alt:
                payload["alt_text"] = post.image_alt
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        refusal = self.refuse(post)
        return [refusal] if refusal else []

    def image_base(self) -> str | None:
        return self.channel.setting("IMAGE_BASE_URL")

    def refuse(self, post: Post) -> str | None:
        if not post.image:
            return ("Instagram cannot publish without an image; add 'image: <a .jpg file or https URL>' "
                    "to the post, or leave this channel out")
        if not is_jpeg(post.image, Path(post.source).parent if post.source else None):
            return (f"Instagram accepts only JPEG images and {post.image} is not one; convert it to .jpg "
                    f"and point 'image' at that file")
        if not public_image_url(post.image, self.image_base()):
            return needs_public_url(post.image, "Instagram", self.channel.var("IMAGE_BASE_URL"))
        return None


class InstagramSender(ContainerSender):
    kind = "instagram"
    rules_class = InstagramRules
    label = "Instagram"
    default_api_url = DEFAULT_API_URL
    create_edge = "media"
    publish_edge = "media_publish"
    status_field = "status_code"
    status_fields = "status_code,status,id"
    text_field = "caption"
    progress_key = "instagram_container"

    @property
    def refresh_grant(self) -> str:
        """Instagram Login tokens renew themselves (ig_refresh_token); a Facebook Login user token
        (<NAME>_LOGIN=facebook, as `postbot connect instagram` sets up) cannot: status warns a week ahead."""
        return "" if (self.channel.setting("LOGIN") or "").lower() == "facebook" else "ig_refresh_token"

    def error_detail(self, state: dict[str, Any]) -> str | None:
        return state.get("status")


def is_jpeg(image: str, post_dir: Path | None) -> bool:
    """By the file's first bytes when it is here, else by its name (a URL without an
    extension cannot be told and is let through: Instagram will say)."""
    if not is_remote(image):
        for candidate in ([post_dir / image] if post_dir else []) + [Path(image)]:
            try:
                with open(candidate, "rb") as handle:
                    return handle.read(3) == JPEG_MAGIC
            except OSError:
                continue
        return image.lower().endswith(JPEG_SUFFIXES)
    path = urlsplit(image).path.lower()
    name = path.rsplit("/", 1)[-1]
    return "." not in name or name.endswith(JPEG_SUFFIXES)


RULES = InstagramRules
SENDER = InstagramSender
