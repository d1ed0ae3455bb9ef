"""Authorization codes as an OAuth 2.0 server keeps them (RFC 6749 §4.1, RFC 7636), for the platform fakes.

An app is registered with its secret and its redirect URLs. GET authorize plays a logged-in user who
clicks Allow: it checks the client, that the redirect URL is one registered (exactly), the response
type and, where the platform asks for it, a PKCE S256 challenge; then it redirects with a code and the
state. A code is bound to the client, the redirect URL, the scopes and the challenge, works once and
expires. Each fake turns a refusal into its own platform's error shape: `redeem` says which rule failed.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import urlencode

from tests.fakes.server import Reply


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redirect_to(uri: str, **params: str | None) -> Reply:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return Reply(302, "", {"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"})


@dataclass
class App:
    client_id: str
    secret: str
    redirect_uris: list[str]
    scopes: set[str] = field(default_factory=set)       # what it may ask for (empty: anything)


class Refused(Exception):
    """Why a code was not redeemed: unknown (never issued or used already), expired, client, redirect, verifier."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CodeGrants:
    def __init__(self, *, lifetime: timedelta, pkce: str, scope_separator: str = " ",
                 scope_error: str = "invalid_scope") -> None:
        assert pkce in ("required", "none")
        self.apps: dict[str, App] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.lifetime, self.pkce, self.separator, self.scope_error = lifetime, pkce, scope_separator, scope_error
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self.lock = threading.Lock()

    def register(self, client_id: str, secret: str, *redirect_uris: str, scopes: set[str] | None = None) -> App:
        app = App(client_id, secret, list(redirect_uris), set(scopes or ()))
        self.apps[client_id] = app
        return app

    def authorize(self, query: dict[str, str]) -> Reply:
        """The user's browser at the authorize page; errors before the redirect is trusted are pages."""
        app = self.apps.get(query.get("client_id", ""))
        if app is None:
            return Reply(400, "<p>Invalid client_id: the app does not exist</p>")
        redirect = query.get("redirect_uri", "")
        if redirect not in app.redirect_uris:
            return Reply(400, "<p>The redirect_uri does not match the registered value</p>")
        state = query.get("state")
        if query.get("response_type") != "code":
            return redirect_to(redirect, error="unsupported_response_type", state=state)
        scopes = [s for s in query.get("scope", "").split(self.separator) if s]
        if app.scopes and set(scopes) - app.scopes:
            return redirect_to(redirect, error=self.scope_error, state=state,
                               error_description=f"unknown scope {sorted(set(scopes) - app.scopes)[0]}")
        challenge = query.get("code_challenge")
        if self.pkce == "required" and (not challenge or query.get("code_challenge_method") != "S256"):
            return redirect_to(redirect, error="invalid_request", state=state,
                               error_description="code_challenge with code_challenge_method=S256 is required")
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"client_id": app.client_id, "redirect_uri": redirect, "scopes": scopes,
                                "challenge": challenge if self.pkce != "none" else None,
                                "expires": self.clock() + self.lifetime}
        return redirect_to(redirect, code=code, state=state)

    def client_ok(self, client_id: str, secret: str | None) -> bool:
        app = self.apps.get(client_id or "")
        return app is not None and bool(secret) and secrets.compare_digest(app.secret, secret or "")

    def redeem(self, code: str, *, client_id: str, redirect_uri: str, verifier: str | None = None) -> dict[str, Any]:
        """The grant behind `code`, which is gone afterwards whatever the outcome (a code is tried once)."""
        with self.lock:
            grant = self.codes.pop(code or "", None)
        if grant is None:
            raise Refused("unknown")
        if self.clock() >= grant["expires"]:
            raise Refused("expired")
        if grant["client_id"] != client_id:
            raise Refused("client")
        if grant["redirect_uri"] != redirect_uri:
            raise Refused("redirect")
        if grant["challenge"] and (not verifier or s256(verifier) != grant["challenge"]):
            raise Refused("verifier")
        return grant
