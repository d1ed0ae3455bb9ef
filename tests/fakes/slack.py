"""A strict Slack incoming webhook: /services/T…/B…/secret, JSON with text, plain-text answers
('ok' or an error code), mrkdwn escaping checked, and a 1 message/second mode with 429 Retry-After."""
from __future__ import annotations

import json
import re
import time
from typing import Any, Callable

from tests.fakes.server import FakeServer, Reply, Request
from tests.fakes.telegram import tune

TEAM, BOT, SECRET = "T0FAKE123", "B0FAKE456", "fakeSecretValue1234567890"
_CONTROL = re.compile(r"<(?:https?://|mailto:)[^\s<>|]+(?:\|[^<>]*)?>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
CHANNEL_ERRORS = {"archived": (410, "channel_is_archived"), "deleted": (404, "channel_not_found"),
                  "prohibited": (403, "action_prohibited"), "revoked": (403, "invalid_token")}


def mangled_at(text: str) -> int | None:
    """Where Slack would misread the text: a bare & < > or a <…> that is not a link. None when clean."""
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            link = _CONTROL.match(text, position)
            if not link:
                return position
            position = link.end()
            continue
        if char == ">":
            return position
        if char == "&" and not _ENTITY.match(text, position):
            return position
        position += 1
    return None


class FakeSlack(FakeServer):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        tune(self)
        self.clock = clock
        self.messages: list[dict[str, Any]] = []
        self.mangled: list[str] = []                  # texts Slack would have shown wrongly
        self.channel_state: str | None = None         # archived / deleted / prohibited / revoked
        self.one_per_second = False                   # rate-limit mode
        self.outage: int | None = None                # a 5xx status to answer with while set
        self.last_post_at: float | None = None
        self.route("POST", "/services/{team}/{bot}/{secret}", self.receive)

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/services/{TEAM}/{BOT}/{SECRET}"

    @staticmethod
    def answer(status: int, code: str, **headers: str) -> Reply:
        return Reply(status, code, headers)

    def receive(self, request: Request) -> Reply:
        params = request.params
        if (params["team"], params["bot"]) != (TEAM, BOT):
            return self.answer(404, "no_service")
        if params["secret"] != SECRET:
            return self.answer(403, "invalid_token")
        if self.outage:
            return self.answer(self.outage, "internal_error")
        if self.channel_state:
            return self.answer(*CHANNEL_ERRORS[self.channel_state])
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self.answer(400, "invalid_payload")
        try:
            body = request.json()
        except (ValueError, json.JSONDecodeError):
            return self.answer(400, "invalid_payload")
        if not isinstance(body, dict) or set(body) - {"text", "blocks", "mrkdwn", "unfurl_links", "unfurl_media"}:
            return self.answer(400, "invalid_payload")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return self.answer(400, "no_text")
        texts = [text]
        for block in body.get("blocks") or []:
            if block.get("type") == "section" and isinstance(block.get("text"), dict) \
                    and len(block["text"].get("text", "")) <= 3000:
                texts.append(block["text"]["text"])
            elif not (block.get("type") == "image" and block.get("image_url") and block.get("alt_text")):
                return self.answer(400, "invalid_blocks")
        for value in texts:
            if mangled_at(value) is not None:
                self.mangled.append(value)
                return self.answer(400, "invalid_payload")
        with self.lock:
            now = self.clock()
            if self.one_per_second and self.last_post_at is not None and now - self.last_post_at < 1:
                return self.answer(429, "rate_limited", **{"Retry-After": "1"})
            self.last_post_at = now
            self.messages.append(body)
        return self.answer(200, "ok")
