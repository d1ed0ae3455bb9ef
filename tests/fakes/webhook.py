"""A receiving endpoint the way a careful integrator writes one: it checks the HMAC signature,
keeps every Idempotency-Key it has seen and stores each post once."""
from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from typing import Any

from tests.fakes.server import FakeServer, Reply, Request


class WebhookReceiver(FakeServer):
    def __init__(self, secret: str = "s3cret-value") -> None:
        super().__init__()
        self.secret = secret
        self.stored: dict[str, dict[str, Any]] = {}     # key -> document
        self.keys_seen: Counter[str] = Counter()
        self.script: list[Reply] = []                   # replies to give first, in order
        self.delay = 0.0
        self.route("POST", "/hook", self.receive)

    def receive(self, request: Request) -> Reply:
        expected = "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-postbot-signature", ""), expected):
            return Reply(401, {"error": "bad signature"})
        key = request.headers.get("idempotency-key")
        if not key:
            return Reply(400, {"error": "Idempotency-Key required"})
        with self.lock:
            self.keys_seen[key] += 1
            if self.script:
                return self.script.pop(0)
            if key not in self.stored:
                self.stored[key] = request.json()
        return Reply(200, {"id": f"msg-{key[:8]}", "url": f"https://hooks.example/msg/{key[:8]}"}, delay=self.delay)

    @property
    def hook_url(self) -> str:
        return self.url + "/hook"
