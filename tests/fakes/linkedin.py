"""LinkedIn's Posts API as the docs describe it (platforms.md §4), strict about what it accepts.

- Every /rest call needs `Authorization: Bearer`, `LinkedIn-Version: YYYYMM` of an active version
  (at most 12 months old on `today`; older ones get 426 NONEXISTENT_VERSION) and
  `X-Restli-Protocol-Version: 2.0.0`.
- The commentary is parsed as little text the way LinkedIn does it: the stored text stops at the
  first unescaped reserved character, with a 201 all the same; a bare `#word` is a hashtag.
- Over 3000 UTF-16 units (Java's String length, escapes included) -> 400; the same commentary twice
  from one author -> 422 DUPLICATE_POST; unknown fields -> 422.
- 201 with the new post's URN in `x-restli-id` and an empty body.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import json
import re
from datetime import date, timedelta
from typing import Any

from tests.fakes.oauth import CodeGrants, Refused
from tests.fakes.server import FakeServer, Reply, Request

RESERVED = set("\\|{}@[]()<>#*_~")
POST_FIELDS = {"author", "commentary", "visibility", "distribution", "lifecycleState",
               "isReshareDisabledByAuthor", "content", "contentLandingPage", "contentCallToActionLabel",
               "reshareContext", "container", "adContext"}
ARTICLE_FIELDS = {"source", "title", "description", "thumbnail", "thumbnailAltText"}
DISTRIBUTION_FIELDS = {"feedDistribution", "targetEntities", "thirdPartyDistributionChannels"}
COMMENTARY_MAX = 3000


def parse_little_text(raw: str, hashtags: list[str] | None = None) -> str:
    """What members see: escapes resolved, and nothing after an unescaped reserved character.

    A bare '#word' is a HashtagElement (the little-text page's example is `#hashtag`); its words
    are collected into `hashtags`. A '#' followed by anything else is a stray reserved character.
    """
    import regex

    shown, index = [], 0
    while index < len(raw):
        char = raw[index]
        element = regex.match(r"#((?:[\p{L}\p{M}\p{Nd}\u200c\u200d]|\\_)+)", raw[index:]) if char == "#" else None
        if element:
            word = element.group(1).replace("\\_", "_")
            if hashtags is not None:
                hashtags.append(word)
            shown.append("#" + word)
            index += element.end()
            continue
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in RESERVED:
            shown.append(raw[index + 1])
            index += 2
            continue
        if char in RESERVED:
            break
        shown.append(char)
        index += 1
    return "".join(shown)


def error(status: int, message: str, code: str | None = None, **extra: Any) -> Reply:
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["errorDetailType"] = "com.linkedin.common.error.BadRequest"
        body["errorDetails"] = {"inputErrors": [{"description": message, "input": {}, "code": code}]}
    body.update(extra)
    return Reply(status, body)


class LinkedInFake(FakeServer):
    def __init__(self, today: date = date(2026, 12, 1)) -> None:
        super().__init__()
        # Poll for shutdown often: each test starts and stops its own server.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.today = today
        # token -> member: who it is, what it may post as, scopes, expired
        self.tokens: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}          # urn -> stored post
        self.script: list[Reply] = []                      # replies to POST /rest/posts, first in first out
        self._ids = itertools.count(7141138937766391808)
        self.route("POST", "/rest/posts", self.create_post)
        self.route("GET", "/v2/userinfo", self.userinfo)
        # OAuth (docs "Refresh Tokens with OAuth 2.0"): refresh token -> member token; renewals handed out
        self.refresh_tokens: dict[str, str] = {}
        self.renewed: list[str] = []
        self.route("POST", "/oauth/v2/accessToken", self.access_token)
        # The authorization code flow (docs "Authorization Code Flow", 3-legged): codes last 30 minutes,
        # no PKCE (that is the native-app flow LinkedIn enables per app); the member who clicks Allow:
        self.oauth = CodeGrants(lifetime=timedelta(minutes=30), pkce="none", scope_error="unauthorized_scope_error")
        self.signed_in = {"sub": "abc123XYZ", "name": "Lewis Robinson", "organizations": ()}
        self.organization_names: dict[str, str] = {}        # organization id -> localizedName
        self.grants_refresh_tokens = True                    # apps LinkedIn enabled refresh tokens for
        self.route("GET", "/oauth/v2/authorization", lambda r: self.oauth.authorize(r.args()))
        self.route("GET", "/rest/organizationAcls", self.organization_acls)
        self.route("GET", "/rest/organizations/{id}", self.organization)

    def member(self, token: str, sub: str = "abc123XYZ", name: str = "Lewis Robinson",
               organizations: tuple[str, ...] = (), scopes: tuple[str, ...] = ("openid", "profile", "w_member_social"),
               expired: bool = False) -> str:
        self.tokens[token] = {"sub": sub, "name": name, "scopes": set(scopes), "expired": expired,
                              "authors": {f"urn:li:person:{sub}", *(f"urn:li:organization:{o}" for o in organizations)}}
        return f"urn:li:person:{sub}"

    def access_token(self, request: Request) -> Reply:
        """grant_type=refresh_token: a new 60-day access token for the member; the refresh token keeps
        its own lifetime and comes back unchanged with refresh_token_expires_in."""
        form = request.fields()
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Reply(400, {"error": "invalid_request", "error_description": "A required parameter "
                               "\"grant_type\" is missing"})
        if not self.oauth.client_ok(form.get("client_id", ""), form.get("client_secret")):
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("grant_type") == "authorization_code":
            return self.exchange_code(form)
        if form.get("grant_type") != "refresh_token":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "grant_type is not supported"})
        member_token = self.refresh_tokens.get(form.get("refresh_token", ""))
        if member_token is None:
            return Reply(400, {"error": "invalid_request", "error_description": "The provided authorization grant "
                               "or refresh token is invalid, expired or revoked"})
        token = f"AQrenewed{len(self.renewed) + 1}"
        self.tokens[token] = dict(self.tokens[member_token], expired=False)
        self.renewed.append(token)
        return Reply(200, {"access_token": token, "expires_in": 5184000, "refresh_token": form["refresh_token"],
                           "refresh_token_expires_in": 30000000, "scope": "openid,profile,w_member_social"})

    def exchange_code(self, form: dict[str, str]) -> Reply:
        try:
            grant = self.oauth.redeem(form.get("code", ""), client_id=form.get("client_id", ""),
                                      redirect_uri=form.get("redirect_uri", ""))
        except Refused:
            return Reply(400, {"error": "invalid_request", "error_description": "Unable to retrieve access token: "
                               "appid/redirect uri/code verifier does not match authorization code. Or authorization "
                               "code expired. Or external member binding exists"})
        token = f"AQV{secrets.token_urlsafe(24)}"
        self.member(token, sub=self.signed_in["sub"], name=self.signed_in["name"],
                    organizations=tuple(self.signed_in["organizations"]), scopes=tuple(grant["scopes"]))
        answer = {"access_token": token, "expires_in": 5184000, "scope": ",".join(grant["scopes"])}
        if self.grants_refresh_tokens:
            refresh = f"AQR{secrets.token_urlsafe(24)}"
            self.refresh_tokens[refresh] = token
            answer.update(refresh_token=refresh, refresh_token_expires_in=31536000)
        return Reply(200, answer)

    def organization_acls(self, request: Request) -> Reply:
        """GET /rest/organizationAcls?q=roleAssignee: the Pages the member holds a role on (r_organization_admin)."""
        member, refused = self.authenticate(request)
        refused = refused or self.check_version(request)
        if refused:
            return refused
        if not member["scopes"] & {"r_organization_admin", "rw_organization_admin"}:
            return Reply(403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                               "message": "Not enough permissions to access: organizationAcls.FINDER-roleAssignee"})
        query = request.args()
        if query.get("q") != "roleAssignee":
            return error(400, "q must be roleAssignee or organization", "INVALID_VALUE")
        person = f"urn:li:person:{member['sub']}"
        elements = [{"roleAssignee": person, "role": "ADMINISTRATOR", "state": "APPROVED", "organization": urn}
                    for urn in sorted(member["authors"] - {person})]
        return Reply(200, {"paging": {"count": 10, "start": 0, "links": []}, "elements": elements})

    def organization(self, request: Request) -> Reply:
        member, refused = self.authenticate(request)
        refused = refused or self.check_version(request)
        if refused:
            return refused
        org_id = request.params["id"]
        if f"urn:li:organization:{org_id}" not in member["authors"]:
            return Reply(403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                               "message": f"Not enough permissions to access: organizations.GET for {org_id}"})
        return Reply(200, {"id": int(org_id), "localizedName": self.organization_names.get(org_id, f"Org {org_id}"),
                           "vanityName": f"org-{org_id}"})

    # ---- checks every call makes --------------------------------------------------------------
    def authenticate(self, request: Request) -> tuple[dict[str, Any] | None, Reply | None]:
        header = request.headers.get("authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else None
        member = self.tokens.get(token or "")
        if member is None:
            return None, Reply(401, {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
                                     "message": "Invalid access token"})
        if member["expired"]:
            return None, Reply(401, {"status": 401, "serviceErrorCode": 65601, "code": "EXPIRED_ACCESS_TOKEN",
                                     "message": "The token used in the request has expired"})
        return member, None

    def check_version(self, request: Request) -> Reply | None:
        version = request.headers.get("linkedin-version")
        if not version:
            return error(400, "A version must be present. Please specify a version by adding the "
                              "LinkedIn-Version header.", "VERSION_MISSING")
        match = re.fullmatch(r"(\d{4})(\d{2})", version)
        if not match:
            return Reply(400, {"status": 400, "code": "INVALID_VERSION",
                               "message": f"Invalid version {version}. Version should be in YYYYMM format."})
        months = self.today.year * 12 + self.today.month - (int(match.group(1)) * 12 + int(match.group(2)))
        if months > 12 or months < 0:
            return Reply(426, {"status": 426, "code": "NONEXISTENT_VERSION",
                               "message": f"Requested version {version} is not active"})
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            return error(400, "X-Restli-Protocol-Version 2.0.0 is required", "INVALID_PROTOCOL_VERSION")
        return None

    # ---- endpoints ------------------------------------------------------------------------------
    def create_post(self, request: Request) -> Reply:
        member, refused = self.authenticate(request)
        if refused:
            return refused
        refused = self.check_version(request)
        if refused:
            return refused
        with self.lock:
            if self.script:
                return self.script.pop(0)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return error(415, "Content-Type must be application/json")
        try:
            body = json.loads(request.body)
        except ValueError:
            return error(400, "Unable to parse the request body as JSON")
        problem = self.invalid_body(body, member)
        if problem:
            return problem
        raw = body["commentary"]
        length = len(raw.encode("utf-16-le")) // 2
        if length > COMMENTARY_MAX:
            return error(400, "com.linkedin.content.common.exception.BadRequestResponseException: ShareCommentary "
                              f"text length ({length} characters) exceeded the maximum allowed "
                              f"({COMMENTARY_MAX} characters)", "INVALID_VALUE")
        with self.lock:
            for urn, stored in self.posts.items():
                if stored["author"] == body["author"] and stored["raw"] == raw:
                    return error(422, "com.linkedin.content.common.exception.BadRequestResponseException: "
                                      f"Content is a duplicate of {urn}", "DUPLICATE_POST")
            urn = f"urn:li:share:{next(self._ids)}"
            hashtags: list[str] = []
            self.posts[urn] = {"author": body["author"], "raw": raw, "commentary": parse_little_text(raw, hashtags),
                               "hashtags": hashtags,
                               "content": body.get("content"), "visibility": body["visibility"],
                               "version": request.headers.get("linkedin-version")}
        return Reply(201, b"", {"x-restli-id": urn})

    def invalid_body(self, body: Any, member: dict[str, Any]) -> Reply | None:
        if not isinstance(body, dict):
            return error(400, "the request body must be a JSON object")
        unknown = sorted(set(body) - POST_FIELDS)
        if unknown:
            return error(422, f"ERROR :: /{unknown[0]} :: unrecognized field found but not allowed",
                         "UNRECOGNIZED_FIELD")
        for name in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if name not in body:
                return error(422, f"ERROR :: /{name} :: field is required but not found and has no default value",
                             "FIELD_REQUIRED")
        if not isinstance(body["commentary"], str):
            return error(422, "ERROR :: /commentary :: not a string", "INVALID_VALUE")
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            return error(422, f"ERROR :: /visibility :: {body['visibility']!r} is not an enum symbol", "INVALID_VALUE")
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            return error(422, "ERROR :: /lifecycleState :: not an enum symbol", "INVALID_VALUE")
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or set(distribution) - DISTRIBUTION_FIELDS \
                or distribution.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
            return error(422, "ERROR :: /distribution :: invalid", "INVALID_VALUE")
        if body["author"] not in member["authors"]:
            return Reply(403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                               "message": f"Not enough permissions to post as {body['author']}"})
        content = body.get("content")
        if content is not None:
            article = content.get("article") if isinstance(content, dict) else None
            if not isinstance(article, dict) or set(content) != {"article"}:
                return error(422, "ERROR :: /content :: only article content is supported here", "INVALID_VALUE")
            extra = sorted(set(article) - ARTICLE_FIELDS)
            if extra:
                return error(422, f"ERROR :: /content/article/{extra[0]} :: unrecognized field found but not allowed",
                             "UNRECOGNIZED_FIELD")
            if not re.match(r"^https?://", str(article.get("source", ""))) or not isinstance(article.get("title"), str):
                return error(422, "ERROR :: /content/article :: source must be a URL and title a string",
                             "INVALID_VALUE")
        return None

    def userinfo(self, request: Request) -> Reply:
        member, refused = self.authenticate(request)
        if refused:
            return refused
        if "openid" not in member["scopes"]:
            return Reply(403, {"serviceErrorCode": 100, "status": 403,
                               "message": "Not enough permissions to access: userinfo.GET.NO_VERSION"})
        return Reply(200, {"sub": member["sub"], "name": member["name"], "email_verified": True})
