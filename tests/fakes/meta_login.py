"""Meta's login endpoints, added to the Graph fakes of tests/fakes/meta.py, as the docs describe them.

Facebook Login (manual flow): GET /{version}/dialog/oauth plays the user who clicks Continue (scopes
comma-separated, no PKCE); GET /{version}/oauth/access_token exchanges the code (client_id,
client_secret, the same redirect_uri) for a short-lived user token, or with grant_type=fb_exchange_token
a short-lived token for a 60-day one; GET /{version}/me/accounts lists the user's Pages with their Page
tokens and connected Instagram accounts. Threads: GET /oauth/authorize, POST /oauth/access_token (the
code, as a form) and GET /access_token?grant_type=th_exchange_token (short-lived -> 60 days).

Refusals are Graph error objects: a wrong secret is code 1, a code used twice 100/36009, an expired
one 100/36007, another redirect_uri 100 "Error validating verification code".
"""
from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from tests.fakes.meta import GraphFake, graph_error
from tests.fakes.oauth import CodeGrants, Refused
from tests.fakes.server import Reply, Request

LONG_LIVED_SECONDS = 60 * 24 * 3600
REFUSED = {"unknown": graph_error(100, "Invalid verification code format."),
           "expired": graph_error(100, "This authorization code has expired.", subcode=36007),
           "client": graph_error(100, "Error validating verification code. The code was issued to another app."),
           "redirect": graph_error(100, "Error validating verification code. Please make sure your redirect_uri is "
                                        "identical to the one you used in the OAuth dialog request"),
           "verifier": graph_error(100, "Invalid code verifier.")}


class MetaLogin:
    """What the two login flows share: the apps and their codes, and the tokens handed out."""

    def __init__(self, fake: GraphFake, lifetime: timedelta) -> None:
        self.fake = fake
        self.grants = CodeGrants(lifetime=lifetime, pkce="none", scope_separator=",")
        self.used: set[str] = set()                          # codes already exchanged (Meta says so, 36009)
        self.short_lived: dict[str, str] = {}                # short-lived token -> the app it was issued to
        self.long_lived: list[str] = []

    def register(self, app_id: str, secret: str, *redirect_uris: str) -> None:
        self.grants.register(app_id, secret, *redirect_uris)

    def redeem(self, params: dict[str, str]) -> tuple[dict[str, Any] | None, Reply | None]:
        if not self.grants.client_ok(params.get("client_id", ""), params.get("client_secret")):
            return None, graph_error(1, "Error validating client secret.")
        code = params.get("code", "")
        if code in self.used:
            return None, graph_error(100, "This authorization code has been used.", subcode=36009)
        try:
            grant = self.grants.redeem(code, client_id=params["client_id"], redirect_uri=params.get("redirect_uri", ""))
        except Refused as refused:
            return None, REFUSED[refused.reason]
        self.used.add(code)
        return grant, None

    def issue_short(self, owner: str, app_id: str) -> str:
        token = f"EAAshort{secrets.token_hex(10)}"
        self.fake.grant(token, owner=owner)
        self.short_lived[token] = app_id
        return token

    def exchange_short(self, token: str, secret: str, owner: str) -> tuple[str | None, Reply | None]:
        """A short-lived token of this app for a 60-day one (the app proves itself with its secret)."""
        app_id = self.short_lived.get(token)
        if app_id is None:
            return None, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        if not self.grants.client_ok(app_id, secret):
            return None, graph_error(1, "Error validating client secret.")
        long = f"EAAlong{secrets.token_hex(12)}"
        self.fake.grant(long, owner=owner)
        self.long_lived.append(long)
        return long, None


class FacebookLogin(MetaLogin):
    """Facebook Login on a FacebookFake or InstagramFake. `pages` are what /me/accounts shows: each with an
    id, a name, optionally an instagram_business_account {id, username}; their Page tokens are granted here.
    A user token acts for `user_owner` (the Facebook user, or on the Instagram fake its one account)."""

    PAGE_FIELDS = {"id", "name", "access_token", "instagram_business_account", "category", "tasks"}

    def __init__(self, fake: GraphFake, version: str, pages: list[dict[str, Any]], user_owner: str) -> None:
        super().__init__(fake, timedelta(minutes=10))
        self.pages, self.user_owner = pages, user_owner
        for page in pages:
            page["access_token"] = f"EAApage{secrets.token_hex(10)}"
            fake.grant(page["access_token"], owner=page["id"])
        fake.route("GET", f"/{version}/dialog/oauth", lambda r: self.grants.authorize(r.args()))
        fake.route("GET", f"/{version}/oauth/access_token", self.access_token)
        fake.route("GET", f"/{version}/me/accounts", self.accounts)

    def access_token(self, request: Request) -> Reply:
        params = request.args()
        if params.get("grant_type") == "fb_exchange_token":
            long, refused = self.exchange_short(params.get("fb_exchange_token", ""), params.get("client_secret", ""),
                                                self.user_owner)
            return refused or Reply(200, {"access_token": long, "token_type": "bearer",
                                          "expires_in": LONG_LIVED_SECONDS})
        grant, refused = self.redeem(params)
        if refused:
            return refused
        return Reply(200, {"access_token": self.issue_short(self.user_owner, grant["client_id"]),
                           "token_type": "bearer", "expires_in": 3600})

    def accounts(self, request: Request) -> Reply:
        params = self.fake.params(request)
        owner, refused = self.fake.authenticate(request, params)
        if refused:
            return refused
        if owner != self.user_owner:
            return graph_error(100, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)")
        fields = [field for field in re.sub(r"\{[^}]*\}", "", params.get("fields", "id,name")).split(",") if field]
        unknown = [field for field in fields if field not in self.PAGE_FIELDS]
        if unknown:
            return graph_error(100, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (Page)")
        return Reply(200, {"data": [{key: page[key] for key in fields if key in page} for page in self.pages],
                           "paging": {"cursors": {"before": "QVFI", "after": "QVFI"}}})


class ThreadsLogin(MetaLogin):
    """The Threads authorization window on a ThreadsFake: its tokens act for the fake's user."""

    def __init__(self, fake) -> None:
        super().__init__(fake, timedelta(hours=1))
        fake.route("GET", "/oauth/authorize", lambda r: self.grants.authorize(r.args()))
        fake.route("POST", "/oauth/access_token", self.access_token)
        fake.route("GET", "/access_token", self.long_lived_token)

    def access_token(self, request: Request) -> Reply:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return graph_error(100, "(#100) The parameter client_id is required")
        params = request.fields()
        if params.get("grant_type") != "authorization_code":
            return graph_error(100, "(#100) Param grant_type must be authorization_code")
        grant, refused = self.redeem(params)
        if refused:
            return refused
        return Reply(200, {"access_token": self.issue_short(self.fake.user_id, grant["client_id"]),
                           "user_id": int(self.fake.user_id)})

    def long_lived_token(self, request: Request) -> Reply:
        params = request.args()
        if params.get("grant_type") != "th_exchange_token":
            return graph_error(100, "(#100) Param grant_type must be th_exchange_token")
        long, refused = self.exchange_short(params.get("access_token", ""), params.get("client_secret", ""),
                                            self.fake.user_id)
        return refused or Reply(200, {"access_token": long, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS})
