"""A strict Discord webhook: id/token in the path, wait=true or the message is silently dropped (204),
content and embed limits with the 50035 error shape, its rate-limit headers, and 10015 for a deleted hook.
A post whose content links a page must carry a link-card embed (postbot's promise, checked here)."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeServer, Reply, Request
from tests.fakes.telegram import parse_form_data, tune

WEBHOOK_ID, WEBHOOK_TOKEN = "1300000000000000001", "fAkE-webhook_token.ForTests"
GUILD_ID, CHANNEL_ID = "1100000000000000001", "1200000000000000001"
FIELDS = {"content", "username", "avatar_url", "tts", "embeds", "allowed_mentions", "components", "attachments",
          "flags", "thread_name", "applied_tags", "poll"}
EMBED_FIELDS = {"title", "type", "description", "url", "timestamp", "color", "footer", "image", "thumbnail",
                "video", "provider", "author", "fields"}


URL_SCHEME = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
URL_IN_TEXT = re.compile(r"https?://\S+", re.IGNORECASE)


def units(value: str) -> int:
    # Discord does not document its counting unit; UTF-16 is the strictest reading.
    return len(value.encode("utf-16-le")) // 2


def form_error(errors: dict[str, Any]) -> Reply:
    return Reply(400, {"code": 50035, "message": "Invalid Form Body", "errors": errors})


def too_long(limit: int) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


@dataclass
class Posted:
    id: str
    body: dict[str, Any]
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)


class FakeDiscord(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        tune(self)
        self.hooks = {WEBHOOK_ID: {"token": WEBHOOK_TOKEN, "channel_id": CHANNEL_ID, "guild_id": GUILD_ID,
                                   "name": "Postbot"}}
        self.posted: list[Posted] = []
        self.dropped: list[dict[str, Any]] = []       # executed without wait=true: 204, never stored
        self.rate_limited: float | None = None        # rate-limit mode: seconds until the bucket resets
        self.global_limit = False
        self.outage: int | None = None                # a 5xx status to answer with while set
        self.require_card = True                      # a linked post must carry postbot's link card
        self.next_id = 1400000000000000000
        self.route("POST", "/api/v10/webhooks/{id}/{token}", self.execute)
        self.route("GET", "/api/v10/webhooks/{id}/{token}", self.get_webhook)

    def webhook_url(self, hook_id: str = WEBHOOK_ID, token: str = WEBHOOK_TOKEN) -> str:
        return f"{self.url}/api/v10/webhooks/{hook_id}/{token}"

    def delete_webhook(self, hook_id: str = WEBHOOK_ID) -> None:
        self.hooks.pop(hook_id, None)

    def find(self, request: Request) -> tuple[dict[str, Any] | None, Reply | None]:
        hook = self.hooks.get(request.params["id"])
        if hook is None:
            return None, Reply(404, {"code": 10015, "message": "Unknown Webhook"})
        if request.params["token"] != hook["token"]:
            return None, Reply(401, {"code": 50027, "message": "Invalid Webhook Token"})
        return hook, None

    def get_webhook(self, request: Request) -> Reply:
        hook, refusal = self.find(request)
        if refusal:
            return refusal
        return Reply(200, {"id": request.params["id"], "type": 1, "guild_id": hook["guild_id"],
                           "channel_id": hook["channel_id"], "name": hook["name"], "avatar": None,
                           "application_id": None, "token": hook["token"]})

    def rate_limit_reply(self) -> Reply:
        after = float(self.rate_limited or 0)
        headers = {"Retry-After": str(int(after) + (after % 1 > 0)), "X-RateLimit-Limit": "5",
                   "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": f"{time.time() + after:.3f}",
                   "X-RateLimit-Reset-After": f"{after:.3f}", "X-RateLimit-Bucket": "fakebucket",
                   "X-RateLimit-Scope": "global" if self.global_limit else "shared"}
        if self.global_limit:
            headers["X-RateLimit-Global"] = "true"
        return Reply(429, {"message": "You are being rate limited.", "retry_after": after,
                           "global": self.global_limit}, headers)

    def body_of(self, request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]]:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            return request.json(), {}
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_form_data(request)
            if "payload_json" not in fields:
                raise ValueError("payload_json missing")
            return json.loads(fields["payload_json"]), files
        raise ValueError("unsupported content type")

    def execute(self, request: Request) -> Reply:
        hook, refusal = self.find(request)
        if refusal:
            return refusal
        if self.outage:
            return Reply(self.outage, {"message": f"{self.outage}: Bad Gateway", "code": 0})
        if self.rate_limited:
            return self.rate_limit_reply()
        try:
            body, files = self.body_of(request)
        except (ValueError, json.JSONDecodeError):
            return Reply(400, {"code": 50109, "message": "The request body contains invalid JSON."})
        problems = self.validate(body, files)
        if isinstance(problems, Reply):
            return problems
        if problems:
            return form_error(problems)
        if request.query.get("wait", ["false"])[-1].lower() != "true":
            self.dropped.append(body)
            return Reply(204, b"")
        with self.lock:
            self.next_id += 1
            message_id = str(self.next_id)
            self.posted.append(Posted(message_id, body, files, request.query))
        return Reply(200, {
            "id": message_id, "type": 0, "channel_id": hook["channel_id"], "webhook_id": request.params["id"],
            "content": body.get("content", ""), "embeds": body.get("embeds", []), "tts": False,
            "author": {"id": request.params["id"], "username": body.get("username") or hook["name"], "bot": True},
            "attachments": [{"id": f"{message_id}{a['id']}", "filename": files[f"files[{a['id']}]"][0],
                             "description": a.get("description")} for a in body.get("attachments") or []],
            "mentions": [], "mention_roles": [], "mention_everyone": False, "pinned": False, "flags": 0,
            "timestamp": "2026-12-01T09:00:00.000000+00:00"})

    def validate(self, body: Any, files: dict[str, tuple[str, str, bytes]]) -> dict[str, Any] | Reply:
        if not isinstance(body, dict):
            return Reply(400, {"code": 50109, "message": "The request body contains invalid JSON."})
        errors: dict[str, Any] = {}
        for key in set(body) - FIELDS:
            errors[key] = {"_errors": [{"code": "UNKNOWN_FIELD", "message": "Unknown field."}]}
        content = body.get("content")
        if content is not None and units(str(content)) > 2000:
            errors["content"] = too_long(2000)
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            errors["embeds"] = too_long(10)
        total = 0
        uploaded = {name for name, _, _ in files.values()}
        for index, embed in enumerate(embeds):
            embed_errors: dict[str, Any] = {}
            for key in set(embed) - EMBED_FIELDS:
                embed_errors[key] = {"_errors": [{"code": "UNKNOWN_FIELD", "message": "Unknown field."}]}
            # message.mdx "Embed Limits": each field's own limit, and 6000 over all of them together.
            texts = [("title", embed.get("title"), 256), ("description", embed.get("description"), 4096),
                     ("footer", (embed.get("footer") or {}).get("text"), 2048),
                     ("author", (embed.get("author") or {}).get("name"), 256)]
            texts += [(f"fields.{n}", f.get("name"), 256) for n, f in enumerate(embed.get("fields") or [])]
            texts += [(f"fields.{n}", f.get("value"), 1024) for n, f in enumerate(embed.get("fields") or [])]
            for key, value, limit in texts:
                value = str(value or "")
                total += units(value)
                if units(value) > limit:
                    embed_errors[key] = too_long(limit)
            if "url" in embed and not URL_SCHEME.match(str(embed["url"])):
                embed_errors["url"] = {"_errors": [{"code": "URL_TYPE_INVALID_URL", "message": "Not a well formed URL."}]}
            image = (embed.get("image") or {}).get("url")
            if image is not None and not (URL_SCHEME.match(str(image))
                                          or str(image).removeprefix("attachment://") in uploaded):
                embed_errors["image"] = {"url": {"_errors": [{"code": "URL_TYPE_INVALID_URL",
                                                              "message": "Scheme must be one of ('http', 'https')."}]}}
            if embed_errors:
                errors.setdefault("embeds", {})[str(index)] = embed_errors
        if total > 6000:
            errors.setdefault("embeds", {})["_errors"] = [{"code": "MAX_EMBED_SIZE_EXCEEDED",
                                                           "message": "Embed size exceeds maximum size of 6000"}]
        mentions = body.get("allowed_mentions")
        if mentions is not None and (not isinstance(mentions, dict) or
                                     not set(mentions.get("parse", [])) <= {"roles", "users", "everyone"}):
            errors["allowed_mentions"] = {"_errors": [{"code": "BASE_TYPE_CHOICES", "message": "Invalid value."}]}
        for index, attachment in enumerate(body.get("attachments") or []):
            if f"files[{attachment.get('id')}]" not in files:
                errors.setdefault("attachments", {})[str(index)] = {
                    "_errors": [{"code": "ATTACHMENT_NOT_FOUND", "message": "Attachment data not found"}]}
            elif units(str(attachment.get("description") or "")) > 1024:
                errors.setdefault("attachments", {})[str(index)] = {"description": too_long(1024)}
        if errors:
            return errors
        if not (content or embeds or files or body.get("poll") or body.get("components")):
            return Reply(400, {"code": 50006, "message": "Cannot send an empty message"})
        if self.require_card and URL_IN_TEXT.search(str(content or "")) and not any("url" in e for e in embeds):
            # Stricter than Discord, which would unfurl the link on its own: postbot promises its
            # own link card (title, url, teaser) with every linked post, so a post without one fails.
            return Reply(400, {"code": 50035, "message": "Invalid Form Body", "errors": {"embeds": {
                "_errors": [{"code": "LINK_CARD_MISSING", "message": "content links a page but no embed carries it"}]}}})
        return {}
