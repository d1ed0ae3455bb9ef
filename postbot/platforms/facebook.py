"""Facebook Pages: POST /{version}/{page-id}/feed with message and link, or /photos with an image.

The Graph API conventions here (error object, throttling codes, token in the form body, never in
the URL) are shared with Threads and Instagram, which import them from this module.

Alt text: `alt_text_custom` is a field of the Photo node; passing it when publishing is seen only in
third-party code (platforms.md §5), so Facebook may ignore it.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from postbot.errors import ConfigError, RateLimited, Rejected, Retryable
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Publisher

DEFAULT_API_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v25.0"
TOKEN_CODES = {190, 102}                    # token invalid or expired: nothing but a new token helps
TRANSIENT_CODES = {1, 2}
THROTTLE_CODES = {4, 17, 32, 613, 80001}
THROTTLE_FALLBACK = timedelta(hours=1)


# ---- Graph API conventions, shared by facebook, threads and instagram ---------------------
def graph_error(response) -> dict[str, Any] | None:
    from postbot.platforms.outcomes import json_object
    error = json_object(response).get("error")
    return error if isinstance(error, dict) else None


def graph_message(error: dict[str, Any]) -> str:
    code, subcode = error.get("code"), error.get("error_subcode")
    words = error.get("error_user_msg") or error.get("message") or "no message"
    return f"error {code}{f'/{subcode}' if subcode else ''}: {words}"


def regain_access_at(response, now: datetime) -> datetime | None:
    """`X-Business-Use-Case-Usage` says, per business, how many minutes until calls are allowed again."""
    raw = response.headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [entry.get("estimated_time_to_regain_access") for entries in
               (usage.values() if isinstance(usage, dict) else []) if isinstance(entries, list)
               for entry in entries if isinstance(entry, dict)]
    waits = [m for m in minutes if isinstance(m, (int, float)) and m > 0]
    return now + timedelta(minutes=max(waits)) if waits else None


def raise_for_graph(response, *, platform: str, now: datetime, token_var: str, sent: bool = True) -> None:
    """Map a Graph API error object to the outcome tree. `sent=False` for steps that cannot post
    anything (creating or reading a container), so a failure there is always safe to retry."""
    from postbot.platforms.outcomes import raise_for_status

    status = response.status_code
    if status < 300:
        return
    error = graph_error(response)
    if error is None:
        try:
            raise_for_status(response, platform=platform, now=now)
        except Retryable as exc:
            exc.sent = exc.sent and sent
            raise
        return
    code = error.get("code")
    message = f"{platform} answered {status}, {graph_message(error)}"
    if code in TOKEN_CODES:
        raise Rejected(f"{message}; the token in {token_var} is invalid or expired: create a new one "
                       f"and set {token_var}", status=status)
    if code in THROTTLE_CODES:
        until = regain_access_at(response, now) or now + THROTTLE_FALLBACK
        raise RateLimited(message, until=until, status=status)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or status >= 500:
        raise Retryable(message, status=status, sent=sent)
    raise Rejected(message, status=status)


def bearer(token: str | None) -> dict[str, str]:
    """GETs carry the token in a header: a token in a URL ends up in proxy and server logs."""
    return {"Authorization": f"Bearer {token}"}


def is_remote(image: str) -> bool:
    return image.lower().startswith(("http://", "https://"))


def public_image_url(image: str, base_url: str | None) -> str | None:
    """A URL Meta can fetch: remote images as they are, local files under <NAME>_IMAGE_BASE_URL
    by file name (upload the file there yourself)."""
    if is_remote(image):
        return image
    if not base_url:
        return None
    name = image.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{base_url.rstrip('/')}/{quote(name)}"


class FacebookPublisher(Publisher):
    platform = "facebook"
    limit = 63206
    fold = 480
    all_ctas = True
    teaser_max = 1000
    required = ("PAGE_ID", "PAGE_TOKEN")

    def measure(self, prepared: Prepared) -> int:
        from postbot import text as textlib
        return textlib.utf16_len(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        if post.image:
            # A photo post: the caption carries the links, Facebook shows no link card.
            payload: dict[str, Any] = {"message": prepared.text,
                                       "url": public_image_url(post.image, self.image_base()) or post.image}
            if post.image_alt:
                payload["alt_text_custom"] = post.image_alt
            return payload
        payload = {"message": prepared.text}
        if post.url:
            payload["link"] = post.url
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if post.image and not public_image_url(post.image, self.image_base()):
            return [f"the image {post.image} is a local file; set {self.channel.var('IMAGE_BASE_URL')} to "
                    f"the public folder you upload it to"]
        return []

    def refuse(self, post: Post) -> str | None:
        if post.image and not public_image_url(post.image, self.image_base()):
            return (f"the image {post.image} is a local file and Facebook fetches images by URL; upload it "
                    f"and set {self.channel.var('IMAGE_BASE_URL')} to that public folder, or use an "
                    f"https:// image URL")
        return None

    def image_base(self) -> str | None:
        return self.channel.setting("IMAGE_BASE_URL")

    def page_url(self) -> str:
        base = self.channel.setting("API_URL", DEFAULT_API_URL).rstrip("/")
        version = self.channel.setting("GRAPH_VERSION", DEFAULT_VERSION).strip("/")
        return f"{base}/{version}/{self.channel.setting('PAGE_ID')}"

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        from postbot.platforms.outcomes import send

        missing = self.missing_settings()
        if missing:
            raise Rejected(f"channel {self.channel.name}: set {' and '.join(missing)}")
        form = {key: value for key, value in payload.items() if value not in (None, "")}
        photo = "url" in form
        if photo and not is_remote(form["url"]):
            raise Rejected(f"the image {form['url']} is a local file; set {self.channel.var('IMAGE_BASE_URL')}"
                           f" to the public folder it is uploaded to, then `postbot retry`")
        form["access_token"] = self.channel.setting("PAGE_TOKEN")
        endpoint = f"{self.page_url()}/{'photos' if photo else 'feed'}"
        response = await send(ctx.client, "POST", endpoint, what="Facebook post", data=form)
        raise_for_graph(response, platform="Facebook", now=ctx.now(), token_var=self.channel.var("PAGE_TOKEN"))
        answer = response.json()
        post_id = str(answer.get("post_id") or answer.get("id"))
        extra = {"photo_id": str(answer["id"])} if photo and answer.get("id") else {}
        return Published(remote_id=post_id, remote_url=f"https://www.facebook.com/{post_id}", extra=extra)

    async def check(self, client) -> str:
        from postbot.platforms.outcomes import send

        missing = self.missing_settings()
        if missing:
            raise ConfigError(f"channel {self.channel.name}: set {' and '.join(missing)}")
        response = await send(client, "GET", self.page_url(), what="Facebook page", params={"fields": "id,name"},
                              headers=bearer(self.channel.setting("PAGE_TOKEN")))
        if response.status_code >= 300:
            error = graph_error(response) or {}
            detail = graph_message(error) if error else f"HTTP {response.status_code}"
            if error.get("code") in TOKEN_CODES or response.status_code == 401:
                raise ConfigError(f"Facebook {detail}; set {self.channel.var('PAGE_TOKEN')} to a valid Page "
                                  f"access token")
            if error.get("code") == 100:
                raise ConfigError(f"Facebook {detail}; check {self.channel.var('PAGE_ID')}")
            raise ConfigError(f"Facebook {detail}")
        answer = response.json()
        return f"page {answer.get('name')} ({answer.get('id')})"


PUBLISHER = FacebookPublisher
