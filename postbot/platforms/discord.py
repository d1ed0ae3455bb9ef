"""Discord webhooks: content within 2000 UTF-16 units and an embed for the link card, posted with ?wait=true.

The webhook URL is the credential (its last path segment is a token), so it never
appears in a message. Without `wait=true` Discord answers 204 even when it drops
the message; with it, the created message comes back and gives us its id.

The payload as queued is Discord's JSON, plus `files`: local image paths that go out
as multipart parts `files[0]`, … next to `payload_json` (their alt text is in
`attachments[n].description`).

A webhook that answers 404 was deleted and "should not be used again": the channel
is marked broken (in its state, tied to that URL) until the URL setting changes.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from postbot import text as textlib
from postbot.errors import Ambiguous, PublishError, RateLimited, Rejected
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Rules, Sender, collapsed_start
from postbot.platforms.media import image_source, is_remote, local_image_refusal, mime_type, read_local_image
from postbot.platforms.outcomes import error_message, json_object, raise_for_status, retry_after, send

CONTENT_LIMIT = 2000
TITLE_LIMIT, DESCRIPTION_LIMIT, EMBEDS_TOTAL_LIMIT = 256, 4096, 6000
ALT_LIMIT = 1024
CARD_DESCRIPTION = 300          # a link card teases (Discord allows 4096); the article is one click away
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
_WEBHOOK_PATH = re.compile(r"/api(?:/v\d+)?/webhooks/(\d+)/([A-Za-z0-9_.-]+)/?$")


def clip(value: str, units: int) -> str:
    """At most `units` UTF-16 units (the strictest way Discord may count), ending in … when cut."""
    value = value.strip()
    if textlib.utf16_len(value) <= units:
        return value
    # The longest start within units - 1 (the ellipsis takes one): no longer than that in chars,
    # then shortened by the astral chars it holds, which take two units each.
    room = max(units - 1, 0)
    kept = value[:room]
    over = textlib.utf16_len(kept) - room
    while over > 0:
        over -= 2 if ord(kept[-1]) > 0xFFFF else 1
        kept = kept[:-1]
    return kept.rstrip() + "…"


def with_wait(url: str) -> str:
    """The webhook URL with wait=true, keeping any other query (thread_id) it carries."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    return urlunsplit(parts._replace(query=urlencode(query + [("wait", "true")])))


def form_errors(errors: Any, where: str = "") -> list[str]:
    """Discord's nested `errors` object as 'embeds.0.title: Must be 256 or fewer in length.'"""
    found: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "_errors" and isinstance(value, list):
                found += [f"{where or 'body'}: {e.get('message', e)}" for e in value if isinstance(e, dict)]
            else:
                found += form_errors(value, f"{where}.{key}" if where else str(key))
    return found


def card_description(post: Post, room: int) -> str:
    """The teaser (or the body's start) for the card, cut at a word within `room` UTF-16 units."""
    source = collapsed_start(post.teaser or post.body or "", room)
    if textlib.utf16_len(source) <= room:
        return source
    cut = clip(source, room)[:-1]
    space = cut.rfind(" ")
    return (cut[:space] if space > room // 2 else cut).rstrip(" ,;:-") + "…"


def link_card(prepared: Prepared, post: Post) -> dict[str, Any] | None:
    """One link-card embed (message.mdx "Embed Object"): the post's URL, else the first CTA as
    `content` links it (so Discord's own unfurl of that URL folds into this card), its title and
    teaser within the documented limits: title 256, description 4096, all embed text 6000."""
    url = post.url or next((link for link in prepared.links if post.ctas and link.startswith(post.ctas[0].url)),
                           post.ctas[0].url if post.ctas else None)
    if not url:
        return None
    title = clip(post.title or (post.ctas[0].label if post.ctas else ""), TITLE_LIMIT)
    card: dict[str, Any] = {"type": "rich", "url": url}
    if title:
        card["title"] = title
    room = min(CARD_DESCRIPTION, DESCRIPTION_LIMIT, EMBEDS_TOTAL_LIMIT - textlib.utf16_len(title))
    description = card_description(post, room)
    if description:
        card["description"] = description
    return card


class DiscordRules(Rules):
    platform = "discord"
    label = "Discord"
    color = "#5865f2"
    limit = CONTENT_LIMIT
    teaser_max = 800

    def measure(self, prepared: Prepared) -> int:
        return textlib.utf16_len(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"content": prepared.text, "allowed_mentions": {"parse": []}}
        username = self.channel.setting("USERNAME")
        if username:
            payload["username"] = clip(username, 80)
        image: dict[str, str] | None = None
        if post.image and is_remote(post.image):
            image = {"url": post.image}
        elif post.image:
            path = Path(image_source(post))
            attachment: dict[str, Any] = {"id": 0, "filename": path.name}
            if post.image_alt:
                attachment["description"] = clip(post.image_alt, ALT_LIMIT)
            payload["attachments"] = [attachment]
            payload["files"] = [str(path)]
            image = {"url": f"attachment://{path.name}"}     # the uploaded file, shown in the card
        card = link_card(prepared, post)
        if card is not None:
            if image:
                card["image"] = image
            payload["embeds"] = [card]
        elif image and is_remote(post.image or ""):
            payload["embeds"] = [{"image": image}]
        return payload

    def refuse(self, post: Post) -> str | None:
        return local_image_refusal(post, image_source(post), platform="Discord", max_bytes=UPLOAD_MAX_BYTES,
                                   size="10 MiB upload", suffixes=(".jpg", ".jpeg", ".png", ".webp", ".gif"),
                                   kinds="jpg, jpeg, png, webp or gif")


class DiscordSender(Sender):
    """The webhook and its health: a deleted webhook marks the channel broken until its URL changes."""

    kind = "discord"
    rules_class = DiscordRules
    required = ("WEBHOOK_URL",)

    def webhook_url(self) -> str | None:
        return self.channel.setting("WEBHOOK_URL")

    def settings_problem(self) -> str | None:
        shape = "a Discord webhook URL (expected https://discord.com/api/webhooks/<id>/<token>)"
        return self.url_problem("WEBHOOK_URL", _WEBHOOK_PATH, expected=shape,
                                where="channel settings → Integrations → Webhooks → Copy URL") or self.broken()

    def fingerprint(self) -> str:
        return hashlib.sha256((self.webhook_url() or "").encode()).hexdigest()[:16]

    def broken(self) -> str | None:
        """Why this channel's current webhook cannot be used, if Discord said so."""
        if self.state.get("broken_webhook") == self.fingerprint():
            return self.state.get("broken")
        return None

    def mark_broken(self, reason: str) -> None:
        self.state.set("broken", reason)      # Discord's words (redacted by error_message), kept for `status`
        self.state.set("broken_webhook", self.fingerprint())

    def missing_settings(self) -> list[str]:
        missing = super().missing_settings()
        if not missing and self.broken():
            missing.append(f"{self.channel.var('WEBHOOK_URL')} (the webhook it names was deleted or refused; "
                           f"create a new one)")
        return missing

    def deleted(self, status: int, message: str) -> str:
        var = self.channel.var("WEBHOOK_URL")
        if status == 404:
            return (f"discord answered 404 {message}: the webhook was deleted, so channel {self.channel.name} is "
                    f"broken; create a new webhook in the Discord channel (Integrations → Webhooks) and put its "
                    f"URL in {var}")
        return (f"discord answered {status} {message}: the token in {var} is wrong; copy the webhook URL again "
                f"into {var}")

    async def webhook_object(self, client, url: str, ctx_now) -> dict[str, Any] | None:
        """GET the webhook (cheap, and says whether it still exists). None when it cannot be read."""
        response = await send(client, "GET", url.split("?")[0], what="discord webhook lookup")
        body = json_object(response)
        if response.status_code in (401, 404):
            reason = self.deleted(response.status_code, error_message(response))
            self.mark_broken(reason)
            raise Rejected(reason, status=response.status_code, sent=False)
        if response.status_code == 429:
            self._raise(response, body, ctx_now())
        if response.status_code != 200 or not body.get("channel_id"):
            return None
        self.state.set("webhook", {"for": self.fingerprint(), "guild_id": body.get("guild_id"),
                                   "channel_id": body.get("channel_id"), "name": body.get("name")})
        return body

    def known_webhook(self) -> dict[str, Any] | None:
        known = self.state.get("webhook")
        return known if isinstance(known, dict) and known.get("for") == self.fingerprint() else None

    # ---- publishing ---------------------------------------------------------------------------
    def _request(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = {key: value for key, value in payload.items() if key != "files"}
        paths = payload.get("files") or []
        if not paths:
            return {"json": body}
        files = []
        for index, path in enumerate(paths):
            data = read_local_image(path, "discord")
            files.append((f"files[{index}]", (Path(path).name, data, mime_type(path))))
        return {"data": {"payload_json": json.dumps(body, ensure_ascii=False)}, "files": files}

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        url = self.webhook_url()
        known = self.known_webhook() or await self.webhook_object(ctx.client, url, ctx.now) or {}
        response = await send(ctx.client, "POST", with_wait(url), what="discord webhook", **self._request(payload))
        body = json_object(response)
        if response.status_code == 204:
            raise Ambiguous("discord answered 204 without the message although wait=true was sent; "
                            "it may or may not have been posted")
        if response.status_code >= 300:
            self._raise(response, body, ctx.now())
        message_id, channel_id = body.get("id"), body.get("channel_id") or known.get("channel_id")
        if not message_id:
            raise Ambiguous("discord answered without a message id; it may or may not have been posted")
        remote_url = None
        if known and channel_id:
            remote_url = f"https://discord.com/channels/{known.get('guild_id') or '@me'}/{channel_id}/{message_id}"
        return Published(str(message_id), remote_url, {"channel_id": channel_id} if channel_id else {})

    def _raise(self, response, body: dict[str, Any], now) -> None:
        status = response.status_code
        message = error_message(response)
        if status == 429:
            # The body's retry_after has decimals; the headers round or describe the bucket.
            wait = body.get("retry_after")
            if not isinstance(wait, (int, float)):
                try:
                    wait = float(response.headers.get("x-ratelimit-reset-after", ""))
                except ValueError:
                    wait = None
            until = (now + timedelta(seconds=float(wait)) if wait is not None
                     else retry_after(response.headers.get("retry-after"), now) or now + timedelta(minutes=1))
            scope = response.headers.get("x-ratelimit-scope") or ("global" if body.get("global") else "")
            raise RateLimited(f"discord answered 429: {message}{f' (scope {scope})' if scope else ''}",
                              until=max(until, now))
        if status in (401, 404):
            reason = self.deleted(status, message)
            self.mark_broken(reason)
            raise Rejected(reason, status=status)
        if status == 400:
            details = "; ".join(form_errors(body.get("errors"))[:5])
            raise Rejected(f"discord answered 400: {message}{f' ({details})' if details else ''} "
                           f"[code {body.get('code')}]; shorten the template or the post", status=status)
        if status == 403:
            raise Rejected(f"discord answered 403: {message}; the webhook may not post in this channel "
                           f"(check its permissions)", status=status)
        raise_for_status(response, platform="discord", now=now)

    async def check(self, client) -> str:
        self.require_settings()
        try:
            webhook = await self.webhook_object(client, self.webhook_url(), lambda: datetime.now(timezone.utc))
        except PublishError as exc:
            raise self.check_failed(str(exc)) from None
        if webhook is None:
            raise self.check_failed("discord did not return the webhook; try again later")
        return f"webhook {webhook.get('name')!r} posting to channel {webhook.get('channel_id')}"


RULES = DiscordRules
SENDER = DiscordSender
