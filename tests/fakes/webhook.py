"""A receiving endpoint the way a careful integrator writes one (docs/webhooks.md): it checks the
X-Postbot-Signature (t=<unix seconds>,v1=<HMAC-SHA256 of "<t>.<Idempotency-Key>.<body>">) with the
`verify` the documentation gives, which refuses a timestamp more than TOLERANCE_SECONDS from the
receiver's clock; it keeps every Idempotency-Key it has seen and stores each post once."""
from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from tests.fakes.server import FakeServer, Reply, Request

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_snippet() -> dict:
    """The Python receiver in docs/webhooks.md, run: its verify, receive, seen and TOLERANCE_SECONDS."""
    code = re.search(r"## Verifying in Python.*?```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)
    return namespace


DOCUMENTED = documented_snippet()
TOLERANCE_SECONDS = DOCUMENTED["TOLERANCE_SECONDS"]
_STAMP = re.compile(r"(?:^|,)\s*t=(\d+)\s*(?:,|$)")


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
        """The documented verify decides; the reason kept for the tests is read from what it says."""
        signature, verify = request.headers.get("x-postbot-signature", ""), DOCUMENTED["verify"]
        if verify(self.secret, signature, key, request.body, now=self.clock()):
            return None
        stamp = _STAMP.search(signature)
        if not stamp:
            return self.refuse(401, "X-Postbot-Signature must be t=<unix seconds>,v1=<hex>")
        if verify(self.secret, signature, key, request.body, now=int(stamp.group(1))):
            return self.refuse(401, "signature timestamp outside the tolerance")
        return self.refuse(401, "bad signature")

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
