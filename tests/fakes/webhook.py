"""A receiving endpoint the way a careful integrator writes one (docs/webhooks.md): it checks the
X-Postbot-Signature (t=<unix seconds>,v1=<HMAC-SHA256 of "<t>.<Idempotency-Key>.<body>">), refuses a
timestamp more than TOLERANCE_SECONDS from its own clock, keeps every Idempotency-Key it has seen and
stores each post once."""
from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter
from typing import Any, Callable

from tests.fakes.server import FakeServer, Reply, Request

TOLERANCE_SECONDS = 300


class WebhookReceiver(FakeServer):
    def __init__(self, secret: str = "s3cret-value", clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.secret = secret
        self.clock = clock                               # unix seconds; tests hand it the runner's clock
        self.stored: dict[str, dict[str, Any]] = {}     # key -> document
        self.keys_seen: Counter[str] = Counter()
        self.refused: list[str] = []                    # why each refused request was refused
        self.script: list[Reply] = []                   # replies to give first, in order
        self.delay = 0.0
        self.route("POST", "/hook", self.receive)

    def refuse(self, status: int, reason: str) -> Reply:
        with self.lock:
            self.refused.append(reason)
        return Reply(status, {"error": reason})

    def verify(self, request: Request, key: str) -> Reply | None:
        fields: dict[str, list[str]] = {}
        for item in request.headers.get("x-postbot-signature", "").split(","):
            name, _, value = item.strip().partition("=")
            fields.setdefault(name, []).append(value)
        stamps, signatures = fields.get("t", []), fields.get("v1", [])
        if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
            return self.refuse(401, "X-Postbot-Signature must be t=<unix seconds>,v1=<hex>")
        if abs(self.clock() - int(stamps[0])) > TOLERANCE_SECONDS:
            return self.refuse(401, "signature timestamp outside the tolerance")
        signed = f"{stamps[0]}.{key}.".encode() + request.body
        expected = hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, given) for given in signatures):
            return self.refuse(401, "bad signature")
        return None

    def receive(self, request: Request) -> Reply:
        key = request.headers.get("idempotency-key")
        if not key:
            return self.refuse(400, "Idempotency-Key required")
        refused = self.verify(request, key)
        if refused:
            return refused
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
