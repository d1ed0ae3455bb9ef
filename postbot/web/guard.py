"""Who may talk to the dashboard: requests for our own host name only (no DNS rebinding), forms
posted from our own pages only (a CSRF token bound to a cookie), and with POSTBOT_SERVE_TOKEN
set, people who logged in with it. Cookies are HttpOnly and SameSite=Strict.

A calendar app subscribing to the iCalendar feed cannot log in, so the feed (GET FEED_PATH only) also
opens with `?key=<feed key>`: derived from the token like the login cookie, it reads the feed and
nothing else, never travels as the token itself, and changes when the token does."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, RedirectResponse

CSRF_COOKIE = "postbot_csrf"
LOGIN_COOKIE = "postbot_login"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}
FEED_PATH = "/calendar.ics"


def login_value(token: str) -> str:
    """The cookie a login sets: derived from the token, so the token itself never travels back."""
    return hmac.new(token.encode(), b"postbot dashboard login", hashlib.sha256).hexdigest()


def feed_key(token: str) -> str:
    """The calendar feed's key: the token's HMAC over a label of its own, useless for anything else."""
    return hmac.new(token.encode(), b"postbot calendar feed", hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _host_name(value: str) -> str:
    return (urlsplit("//" + value).hostname or "").lower()


class Guard:
    """ASGI middleware in front of every route."""

    def __init__(self, app, *, allowed_hosts: list[str], token: str | None):
        self.app = app
        self.hosts = LOOPBACK_NAMES | {h.lower() for h in allowed_hosts}
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        host = _host_name(headers.get("host", ""))
        if host not in self.hosts:
            return await PlainTextResponse(f"unexpected Host header {host!r}: open the dashboard at the address "
                                           "`postbot serve` printed", status_code=421)(scope, receive, send)
        origin = headers.get("origin")
        if scope["method"] not in SAFE_METHODS and origin and (urlsplit(origin).hostname or "").lower() != host:
            return await PlainTextResponse("cross-site request refused", status_code=403)(scope, receive, send)
        if self.token and scope["path"] != "/login":
            connection = HTTPConnection(scope)
            if not same(connection.cookies.get(LOGIN_COOKIE), login_value(self.token)):
                if scope["path"] != FEED_PATH:
                    return await RedirectResponse("/login", status_code=303)(scope, receive, send)
                if scope["method"] != "GET" or not same(connection.query_params.get("key"), feed_key(self.token)):
                    return await PlainTextResponse("this calendar feed needs its key: copy the address of the "
                                                   "'Calendar feed' link on the dashboard's calendar page",
                                                   status_code=403)(scope, receive, send)
        return await self.app(scope, receive, send)


def csrf_token(request) -> str:
    """This browser's CSRF token (from its cookie, or a new one the response will set)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


def set_cookies(request, response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", path="/")


def csrf_ok(request, form) -> bool:
    return same(request.cookies.get(CSRF_COOKIE), form.get("csrf"))
