"""A signed JSON POST for Zapier, Make, n8n or your own endpoint.

Headers: `Idempotency-Key` (stable across retries: receivers drop repeats) and
`X-Postbot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 with <NAME>_SECRET of "<t>.<key>.<raw body>">`.
The timestamp and the key are signed with the body, so a captured request cannot be replayed later
(receivers refuse a `t` older than their tolerance, 5 minutes in docs/webhooks.md) nor within the
tolerance under another key (receivers drop a key they have seen). Each attempt is signed anew.
The body-only `sha256=` signature of earlier versions is not sent: it is what made replays possible.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from postbot.models import Published
from postbot.platforms.base import PublishContext, Sender
from postbot.platforms.outcomes import json_object, raise_for_status, send

SIGNATURE_HEADER = "X-Postbot-Signature"


SIGNATURE_VERSION = "v1"


def signed_bytes(timestamp: int, key: str, body: bytes) -> bytes:
    """Exactly what v1 signs: the timestamp, a dot, the Idempotency-Key, a dot, the raw body."""
    return f"{timestamp}.{key}.".encode() + body


def sign(secret: str, timestamp: int, key: str, body: bytes) -> str:
    """The X-Postbot-Signature value: t=<timestamp>,v1=<hex HMAC-SHA256>."""
    digest = hmac.new(secret.encode(), signed_bytes(timestamp, key, body), hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_VERSION}={digest}"


class WebhookSender(Sender):
    kind = "webhook"
    dedupes = True
    required = ("URL", "SECRET")

    def __init__(self, channel, state=None):
        super().__init__(channel, state)
        # Receivers that ignore Idempotency-Key (many no-code catch hooks) must never get a blind re-send.
        self.dedupes = (channel.setting("IDEMPOTENT", "on") or "on").lower() not in ("off", "false", "0", "no")

    def document(self, payload: dict[str, Any], ctx: PublishContext) -> dict[str, Any]:
        return {"channel": self.channel.name, "platform": self.channel.platform,
                "post": ctx.post, "text": ctx.part.text, "links": ctx.part.links,
                "due_at": ctx.due_at.isoformat().replace("+00:00", "Z") if ctx.due_at else None,
                "part": ctx.part_index + 1, "parts": ctx.part_count, "payload": payload}

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        url, secret = self.channel.setting("URL"), self.channel.setting("SECRET")
        body = json.dumps(self.document(payload, ctx), ensure_ascii=False, separators=(",", ":")).encode()
        response = await send(ctx.client, "POST", url, what=f"webhook {self.channel.name}", content=body,
                              headers={"Content-Type": "application/json", "Idempotency-Key": ctx.key,
                                       SIGNATURE_HEADER: sign(secret, int(ctx.now().timestamp()), ctx.key, body)})
        fix = (f"check {self.channel.var('URL')} and {self.channel.var('SECRET')}; the receiver must verify "
               f"{SIGNATURE_HEADER} t=…,v1=… as docs/webhooks.md shows")
        raise_for_status(response, platform=f"webhook {self.channel.name}", now=ctx.now(), fix=fix)
        answer = json_object(response)
        return Published(remote_id=str(answer.get("id") or ctx.key), remote_url=answer.get("url"))

    async def check(self, client) -> str:
        self.require_settings()
        return f"posts to {urlsplit(self.channel.setting('URL')).netloc}"


SENDER = WebhookSender
