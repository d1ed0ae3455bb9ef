"""A Mastodon instance played strictly (platforms.md §3).

- Bearer token required on every authenticated endpoint (401 {"error": "The access token is invalid"}).
- Length counted the way Mastodon's StatusLengthValidator does: spoiler_text and text together,
  each http(s) URL as 23 characters, `@user@domain` as `@user`, measured in grapheme clusters,
  against a configurable max_characters; over the limit is a 422
  {"error": "Validation failed: Text character limit of N exceeded"}.
- Idempotency-Key: the same key from the same account within one hour returns the status it
  created the first time instead of a new one.
- Rate-limit headers on every answer; in rate-limit mode a 429 whose X-RateLimit-Reset is an
  ISO 8601 time with microseconds (no Retry-After).
- OAuth (Mastodon's API docs, "OAuth" and "apps"): POST /api/v1/apps registers a client (name,
  absolute redirect URIs, known scopes); GET /oauth/authorize plays a logged-in user clicking
  Authorize (or Deny with `declines`) and redirects with code and state; it requires PKCE (S256).
  POST /oauth/token exchanges a code once, for the same client, secret and redirect_uri, only with
  the verifier whose SHA-256 was the challenge; the token it issues then works on every endpoint.
- Media: POST /api/v2/media answers 202 with url null, GET /api/v1/media/:id answers 206 while
  processing and 200 with a url when done; a status with unprocessed media is a 422.

URLs are found with the twitter-text extractor (schemeless URLs off, as Mastodon runs it) when the
`twitter-text-parser` package is installed, else with a plain http(s) pattern; never with postbot's
own counter.
"""
from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import itertools
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import regex

from tests.fakes.server import FakeServer, Reply, Request

UTC = timezone.utc
TOKEN = "fake-mastodon-token-value"
ACCOUNT = {"id": "109348", "username": "postbot", "acct": "postbot", "display_name": "Postbot Test"}
VISIBILITIES = {"public", "unlisted", "private", "direct"}
IDEMPOTENCY_TTL = timedelta(hours=1)
MENTION = regex.compile(r"(?<![/\w])@(([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)?)",
                        regex.IGNORECASE)


try:  # imported up front: it takes about a second, too long to do inside a request
    from twitter_text import extract_urls_with_indices
except ImportError:  # pragma: no cover - the plain pattern below stands in
    extract_urls_with_indices = None


def url_spans(text: str) -> list[tuple[int, int]]:
    if extract_urls_with_indices is None:
        return [m.span() for m in re.finditer(r"https?://[^\s<>\"]+[^\s<>\".,:;!?)\]]", text)]
    return [tuple(item["indices"]) for item in extract_urls_with_indices(text, extract_urls_without_protocol=False)]


def countable_length(text: str, spoiler: str = "", url_length: int = 23) -> int:
    pieces, last = [], 0
    for start, end in url_spans(text):
        pieces += [text[last:start], "x" * url_length]
        last = end
    pieces.append(text[last:])
    countable = MENTION.sub(r"@\2", "".join(pieces))
    return len(regex.findall(r"\X", spoiler + countable))


def iso6(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeMastodon(FakeServer):
    def __init__(self, max_characters: int = 500, url_length: int = 23,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__()
        self.max_characters, self.url_length, self.clock = max_characters, url_length, clock
        self.token = TOKEN
        self.statuses: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.idempotency: dict[str, tuple[str, datetime]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.processing_polls = 1                    # 206 answers before a media is ready
        self.rate_limit_reset: datetime | None = None
        self.delay_next_status = 0.0                 # create it, then answer late
        self.ids = itertools.count(110000000000000001)
        self.route("GET", "/api/v2/instance", self.instance)
        self.route("GET", "/api/v1/accounts/verify_credentials", self.verify_credentials)
        self.route("POST", "/api/v1/statuses", self.create_status)
        self.route("POST", "/api/v2/media", self.upload)
        self.route("GET", "/api/v1/media/{id}", self.media_status)
        self.apps: dict[str, dict[str, Any]] = {}         # client_id -> registered app
        self.codes: dict[str, dict[str, Any]] = {}        # authorization code -> what it was given for
        self.issued: set[str] = set()                     # access tokens handed out by /oauth/token
        self.declines = False                             # the user clicks Deny
        self.route("POST", "/api/v1/apps", self.create_app)
        self.route("GET", "/oauth/authorize", self.authorize_page)
        self.route("POST", "/oauth/token", self.exchange_code)

    # ---- plumbing ------------------------------------------------------------------------------
    def limit_headers(self, remaining: int = 299) -> dict[str, str]:
        reset = self.rate_limit_reset or self.clock() + timedelta(minutes=5)
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": iso6(reset)}

    def authorize(self, request: Request) -> Reply | None:
        given = request.headers.get("authorization", "")
        if given != f"Bearer {self.token}" and given.removeprefix("Bearer ") not in self.issued:
            return Reply(401, {"error": "The access token is invalid"})
        if self.rate_limit_reset is not None:
            return Reply(429, {"error": "Too many requests"}, self.limit_headers(remaining=0))
        return None

    @staticmethod
    def params(request: Request) -> dict[str, Any]:
        """Form or JSON: Mastodon reads both the same way."""
        if request.headers.get("content-type", "").startswith("application/json"):
            body = request.json()
            return body if isinstance(body, dict) else {}
        params: dict[str, Any] = {}
        for key, values in parse_qs(request.body.decode(), keep_blank_values=True).items():
            params[key[:-2] if key.endswith("[]") else key] = values if key.endswith("[]") else values[-1]
        return params

    def url_of(self, status_id: str) -> str:
        return f"https://social.example/@{ACCOUNT['username']}/{status_id}"

    # ---- endpoints -------------------------------------------------------------------------------
    def instance(self, request: Request) -> Reply:
        return Reply(200, {
            "domain": "social.example", "title": "Fake Mastodon", "version": "4.3.0",
            "configuration": {
                "urls": {"streaming": "wss://social.example"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                             "characters_reserved_per_url": self.url_length},
                "media_attachments": {"supported_mime_types": ["image/jpeg", "image/png", "image/gif",
                                                               "image/webp"],
                                      "description_limit": 1500, "image_size_limit": 16777216,
                                      "image_matrix_limit": 33177600},
                "polls": {"max_options": 4, "max_characters_per_option": 50},
            }}, self.limit_headers())

    def verify_credentials(self, request: Request) -> Reply:
        return self.authorize(request) or Reply(200, {**ACCOUNT, "url": "https://social.example/@postbot"},
                                                self.limit_headers())

    def create_status(self, request: Request) -> Reply:
        denied = self.authorize(request)
        if denied:
            return denied
        params = self.params(request)
        key = request.headers.get("idempotency-key")
        now = self.clock()
        with self.lock:
            if key and key in self.idempotency and now - self.idempotency[key][1] < IDEMPOTENCY_TTL:
                return Reply(200, self.statuses[self.idempotency[key][0]], self.limit_headers())
            problem = self.validate(params)
            if problem:
                return problem
            status_id = str(next(self.ids))
            status = {
                "id": status_id, "created_at": iso6(now), "uri": f"https://social.example/users/postbot/"
                                                               f"statuses/{status_id}",
                "url": self.url_of(status_id), "in_reply_to_id": params.get("in_reply_to_id"),
                "sensitive": bool(params.get("spoiler_text")), "spoiler_text": params.get("spoiler_text") or "",
                "visibility": params.get("visibility") or "public", "language": params.get("language"),
                "content": f"<p>{params.get('status', '')}</p>", "text": params.get("status", ""),
                "media_attachments": [self.media[m]["entity"] for m in params.get("media_ids") or []],
                "account": ACCOUNT,
            }
            self.statuses[status_id] = status
            self.order.append(status_id)
            if key:
                self.idempotency[key] = (status_id, now)
            delay, self.delay_next_status = self.delay_next_status, 0.0
        return Reply(200, status, self.limit_headers(), delay=delay)

    def validate(self, params: dict[str, Any]) -> Reply | None:
        media_ids = params.get("media_ids") or []
        text, spoiler = params.get("status") or "", params.get("spoiler_text") or ""
        if not text and not media_ids:
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if params.get("visibility") not in (None, *VISIBILITIES):
            return Reply(422, {"error": "Validation failed: Visibility is not included in the list"})
        language = params.get("language")
        if language is not None and not re.fullmatch(r"[a-z]{2,3}", str(language)):
            return Reply(422, {"error": "Validation failed: Language is not a valid ISO 639 code"})
        reply_to = params.get("in_reply_to_id")
        if reply_to is not None and str(reply_to) not in self.statuses:
            return Reply(404, {"error": "Record not found"})
        for media_id in media_ids:
            media = self.media.get(str(media_id))
            if media is None:
                return Reply(422, {"error": "Validation failed: Media attachments are invalid"})
            if media["entity"]["url"] is None:
                return Reply(422, {"error": "Cannot attach files that have not finished processing. "
                                            "Try again in a moment!"})
        if countable_length(text, spoiler, self.url_length) > self.max_characters:
            return Reply(422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"})
        return None

    def upload(self, request: Request) -> Reply:
        denied = self.authorize(request)
        if denied:
            return denied
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return Reply(422, {"error": "Validation failed: File can't be blank"})
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
        fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        if "file" not in fields or not fields["file"].get_filename():
            return Reply(422, {"error": "Validation failed: File can't be blank"})
        data = fields["file"].get_payload(decode=True)
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"RIFF")):
            return Reply(422, {"error": "Validation failed: File content type is invalid"})
        description = fields["description"].get_payload(decode=True).decode() if "description" in fields else None
        if description and len(description) > 1500:
            return Reply(422, {"error": "Validation failed: Description is too long (maximum is 1500 characters)"})
        with self.lock:
            media_id = str(next(self.ids))
            entity = {"id": media_id, "type": "image", "url": None, "preview_url": None,
                      "description": description}
            self.media[media_id] = {"entity": entity, "bytes": data, "polls_left": self.processing_polls}
            if self.processing_polls == 0:
                entity["url"] = f"https://files.social.example/{media_id}.png"
                return Reply(200, dict(entity), self.limit_headers())
        return Reply(202, dict(entity), self.limit_headers())

    def media_status(self, request: Request) -> Reply:
        denied = self.authorize(request)
        if denied:
            return denied
        with self.lock:
            media = self.media.get(request.params["id"])
            if media is None:
                return Reply(404, {"error": "Record not found"})
            if media["polls_left"] > 0:
                media["polls_left"] -= 1
                return Reply(206, dict(media["entity"]), self.limit_headers())
            media["entity"]["url"] = f"https://files.social.example/{media['entity']['id']}.png"
            return Reply(200, dict(media["entity"]), self.limit_headers())

    # ---- OAuth -----------------------------------------------------------------------------------
    SCOPES = {"read", "write", "follow", "push", "profile", "read:accounts", "read:statuses", "write:statuses",
              "write:media", "write:accounts"}
    OOB = "urn:ietf:wg:oauth:2.0:oob"

    def create_app(self, request: Request) -> Reply:
        params = self.params(request)
        if not params.get("client_name"):
            return Reply(422, {"error": "Validation failed: Application name can't be blank"})
        raw = params.get("redirect_uris") or ""
        uris = raw if isinstance(raw, list) else raw.split()
        if not uris:
            return Reply(422, {"error": "Validation failed: Redirect URI can't be blank"})
        for uri in uris:
            if uri != self.OOB and not (urlsplit(uri).scheme and urlsplit(uri).netloc):
                return Reply(422, {"error": "Validation failed: Redirect URI must be an absolute URI."})
        scopes = str(params.get("scopes") or "read").split()
        if set(scopes) - self.SCOPES:
            return Reply(422, {"error": "Validation failed: Scopes must be a valid scope"})
        client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        app = {"id": str(len(self.apps) + 1), "name": params["client_name"], "website": params.get("website"),
               "scopes": scopes, "redirect_uri": "\n".join(uris), "redirect_uris": uris,
               "client_id": client_id, "client_secret": secret}
        self.apps[client_id] = app
        return Reply(200, app)

    def authorize_page(self, request: Request) -> Reply:
        query = request.args()
        app = self.apps.get(query.get("client_id", ""))
        if app is None:
            return Reply(401, "The client is unknown (invalid_client)")
        redirect = query.get("redirect_uri", "")
        if redirect not in app["redirect_uris"]:
            return Reply(400, "The redirect uri included is not valid (invalid_redirect_uri)")
        if query.get("response_type") != "code":
            return self.redirect_to(redirect, error="unsupported_response_type", state=query.get("state"))
        scopes = query.get("scope", "read").split()
        if set(scopes) - set(app["scopes"]):
            return self.redirect_to(redirect, error="invalid_scope", state=query.get("state"))
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            return self.redirect_to(redirect, error="invalid_request", state=query.get("state"),
                                    error_description="Code challenge is required (S256).")
        if self.declines:
            return self.redirect_to(redirect, error="access_denied", state=query.get("state"),
                                    error_description="The resource owner or authorization server denied the request.")
        code = secrets.token_urlsafe(32)
        self.codes[code] = {"client_id": app["client_id"], "redirect_uri": redirect, "scopes": scopes,
                            "challenge": query["code_challenge"]}
        if redirect == self.OOB:
            return Reply(200, f"<p>Copy this authorization code: <code>{code}</code></p>")
        return self.redirect_to(redirect, code=code, state=query.get("state"))

    @staticmethod
    def redirect_to(uri: str, **params: str | None) -> Reply:
        query = urlencode({key: value for key, value in params.items() if value is not None})
        return Reply(302, "", {"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"})

    def exchange_code(self, request: Request) -> Reply:
        params = self.params(request)
        app = self.apps.get(str(params.get("client_id") or ""))
        if app is None or params.get("client_secret") != app["client_secret"]:
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed due "
                               "to unknown client, no client authentication included, or unsupported "
                               "authentication method."})
        if params.get("grant_type") != "authorization_code":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "The authorization grant "
                               "type is not supported by the authorization server."})
        with self.lock:
            grant = self.codes.pop(str(params.get("code") or ""), None)   # a code works once
        invalid = Reply(400, {"error": "invalid_grant", "error_description": "The provided authorization grant is "
                              "invalid, expired, revoked, does not match the redirection URI used in the "
                              "authorization request, or was issued to another client."})
        if grant is None or grant["client_id"] != app["client_id"] or grant["redirect_uri"] != params.get("redirect_uri"):
            return invalid
        verifier = str(params.get("code_verifier") or "")
        hashed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or hashed != grant["challenge"]:
            return invalid
        token = secrets.token_urlsafe(32)
        self.issued.add(token)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "scope": " ".join(grant["scopes"]),
                           "created_at": int(self.clock().timestamp())})

    # ---- for assertions ------------------------------------------------------------------------
    def status_requests(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/api/v1/statuses"]

    def texts(self) -> list[str]:
        return [self.statuses[i]["text"] for i in self.order]
