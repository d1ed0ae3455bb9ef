"""X API v2 played strictly (platforms.md §1): OAuth 1.0a signatures recomputed server-side,
nonces single-use, OAuth 2.0 bearer tokens with a rotating refresh token, the CreatePostsRequest
schema (additionalProperties false), the twitter-text weighted length of 280, duplicate-content
403s, rate-limit headers and problem+json errors.

Length is checked with the PyPI port of twitter-text (`twitter-text-parser`, which passes the
official conformance cases) when installed; otherwise with a small weighted count written here
from the v3 config (URLs 23, code points in the light ranges 1, everything else 2), never with
postbot's own counter.
"""
from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import hmac
import itertools
import re
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from tests.fakes.oauth import CodeGrants, Refused
from tests.fakes.server import FakeServer, Reply, Request

CONSUMER_KEY, CONSUMER_SECRET = "fake-consumer-key", "fake-consumer-secret-value"
TOKEN, TOKEN_SECRET = "111-fake-access-token", "fake-token-secret-value"
CLIENT_ID = "fake-client-id"                                  # a Native App (public client): PKCE alone
WEB_CLIENT_ID, CLIENT_SECRET = "fake-web-client-id", "fake-client-secret"   # a Web App: Basic auth too
OAUTH2_SCOPES = {"tweet.read", "tweet.write", "users.read", "media.write", "offline.access", "like.write"}
USER = {"id": "2244994945", "name": "Postbot Test", "username": "postbot_test"}
PROBLEM = {"Content-Type": "application/problem+json"}

CREATE_FIELDS = {"text", "media", "reply", "quote_tweet_id", "reply_settings", "poll", "geo", "nullcast",
                 "made_with_ai", "paid_partnership", "card_uri", "community_id", "edit_options",
                 "direct_message_deep_link", "for_super_followers_only", "share_with_followers"}
NESTED_FIELDS = {"reply": {"in_reply_to_tweet_id", "exclude_reply_user_ids", "auto_populate_reply_metadata"},
                 "media": {"media_ids", "tagged_user_ids", "media_category"}}
MEDIA_CATEGORIES = {"tweet_image", "tweet_gif", "tweet_video", "amplify_video", "subtitles", "dm_image"}
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF")
DUPLICATE = {"detail": "You are not allowed to create a Tweet with duplicate content.",
             "type": "about:blank", "title": "Forbidden", "status": 403}


def enc(value: str) -> str:
    """RFC 3986 percent-encoding as X's signing doc demands (space is %20, never +)."""
    return quote(value, safe="-._~")


try:  # imported up front: it takes about a second, too long to do inside a request
    from twitter_text import parse_tweet
except ImportError:  # pragma: no cover - the simple count below stands in
    parse_tweet = None


def weighted_length(text: str) -> int:
    if parse_tweet is None:
        return _simple_weighted_length(text)
    return parse_tweet(text).weightedLength


_URL = re.compile(r"https?://[^\s]+|(?<![\w@.])(?:[a-z0-9-]+\.)+(?:com|org|net|io|co|dev|ly)(?:/[^\s]*)?",
                  re.IGNORECASE)
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def _simple_weighted_length(text: str) -> int:
    import unicodedata
    text = unicodedata.normalize("NFC", text)
    total = 0
    for piece in _URL.split(text):
        total += sum(1 if any(lo <= ord(ch) <= hi for lo, hi in _LIGHT) else 2 for ch in piece)
    return total + 23 * len(_URL.findall(text))


def parse_oauth_header(value: str) -> dict[str, str] | None:
    if not value.startswith("OAuth "):
        return None
    params = {}
    for match in re.finditer(r'([\w]+)="([^"]*)"', value[6:]):
        key = unquote(match.group(1))
        if key in params:
            return None                                   # X rejects duplicate keys
        params[key] = unquote(match.group(2))
    return params


def problem(status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any) -> Reply:
    return Reply(status, {"title": title, "detail": detail, "type": kind, "status": status, **extra},
                 dict(PROBLEM))


class FakeX(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.tweets: dict[str, dict[str, Any]] = {}           # id -> {"text", "reply", "media"}
        self.order: list[str] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.nonces: set[tuple[str, str]] = set()
        self.signature_failures = 0
        self.access_tokens = {"fake-oauth2-access-1"}
        self.refresh_token = "fake-oauth2-refresh-1"
        self.refreshes = 0
        self.rate_limited_until: int | None = None             # epoch seconds
        self.delay_next_post = 0.0                              # create, then answer late
        self.fail_next_post: Reply | None = None                # answer without creating
        self.ids = itertools.count(1445880548472328192)
        self.route("POST", "/2/tweets", self.create_post)
        self.route("POST", "/2/media/upload", self.upload)
        self.route("POST", "/2/media/metadata", self.metadata)
        self.route("GET", "/2/users/me", self.me)
        self.route("POST", "/2/oauth2/token", self.token)
        # OAuth 1.0a three-legged with a PIN (docs: obtaining user access tokens, PIN-based authorization)
        self.token_secrets = {TOKEN: TOKEN_SECRET}             # access token -> its secret
        self.request_tokens: dict[str, str] = {}               # request token -> its secret
        self.verifiers: dict[str, str] = {}                    # request token -> the PIN shown once authorized
        self.route("POST", "/oauth/request_token", self.request_token)
        self.route("GET", "/oauth/authorize", self.pin_page)
        self.route("POST", "/oauth/access_token", self.access_token)
        # OAuth 2.0 authorization code with PKCE: the code must be exchanged within 30 seconds
        self.oauth2 = CodeGrants(lifetime=timedelta(seconds=30), pkce="required")
        self.oauth2.register(CLIENT_ID, "", scopes=OAUTH2_SCOPES)
        self.oauth2.register(WEB_CLIENT_ID, CLIENT_SECRET, scopes=OAUTH2_SCOPES)
        self.route("GET", "/i/oauth2/authorize", lambda r: self.oauth2.authorize(r.args()))

    # ---- auth ----------------------------------------------------------------------------
    def unauthorized(self) -> Reply:
        return problem(401, "Unauthorized", "Unauthorized")

    def authorize(self, request: Request) -> Reply | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            return None if header[7:] in self.access_tokens else self.unauthorized()
        params = parse_oauth_header(header)
        if params is None or not self.signed(request, params, self.token_secrets.get(params.get("oauth_token", ""))):
            return self.unauthorized()
        return None

    def signed(self, request: Request, oauth: dict[str, str], token_secret: str | None) -> bool:
        """A valid signature with a fresh nonce; `token_secret` None: the token is not one X knows."""
        if token_secret is None or self.expected_signature(request, oauth, token_secret) != oauth.get("oauth_signature"):
            self.signature_failures += 1
            return False
        nonce = (oauth["oauth_nonce"], oauth["oauth_timestamp"])
        with self.lock:
            if nonce in self.nonces:
                return False
            self.nonces.add(nonce)
        return True

    def expected_signature(self, request: Request, oauth: dict[str, str], token_secret: str) -> str | None:
        """The signature X computes; the key is the consumer secret and the token's (empty before a
        request token exists)."""
        required = {"oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method",
                    "oauth_timestamp", "oauth_version"}
        if not required <= set(oauth) or "oauth_body_hash" in oauth:
            return None                                    # a signed JSON body is a 401 at X
        if oauth["oauth_consumer_key"] != CONSUMER_KEY:
            return None
        if oauth["oauth_signature_method"] != "HMAC-SHA1" or oauth["oauth_version"] != "1.0":
            return None
        if not oauth["oauth_timestamp"].isdigit() or abs(int(oauth["oauth_timestamp"]) - time.time()) > 300:
            return None                                    # "too far in the past" (or future)
        pairs = [(k, v) for k, values in request.query.items() for v in values]
        pairs += [(k, v) for k, v in oauth.items() if k != "oauth_signature"]
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            pairs += parse_qsl(request.body.decode(), keep_blank_values=True)
        param_string = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in pairs))
        base = "&".join([request.method.upper(), enc(self.url + request.path), enc(param_string)])
        key = f"{enc(CONSUMER_SECRET)}&{enc(token_secret)}"
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def limit_headers(self, remaining: int = 99) -> dict[str, str]:
        reset = self.rate_limited_until or int(time.time()) + 900
        return {"x-rate-limit-limit": "100", "x-rate-limit-remaining": str(remaining),
                "x-rate-limit-reset": str(reset)}

    # ---- endpoints ----------------------------------------------------------------------------
    def create_post(self, request: Request) -> Reply:
        denied = self.authorize(request)
        if denied:
            return denied
        if self.rate_limited_until is not None:
            return Reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                               "type": "about:blank", "status": 429},
                         {**PROBLEM, **self.limit_headers(remaining=0)})
        if not request.headers.get("content-type", "").startswith("application/json"):
            return problem(400, "Invalid Request", "Content-Type must be application/json",
                           "https://api.x.com/2/problems/invalid-request")
        try:
            body = request.json()
        except ValueError:
            return problem(400, "Invalid Request", "body is not JSON", "https://api.x.com/2/problems/invalid-request")
        invalid = self.schema_errors(body)
        if invalid:
            return problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                           "https://api.x.com/2/problems/invalid-request",
                           errors=[{"message": message} for message in invalid])
        with self.lock:
            if self.fail_next_post is not None:
                reply, self.fail_next_post = self.fail_next_post, None
                return reply
            if any(t["text"] == body.get("text") for t in self.tweets.values()):
                return Reply(403, dict(DUPLICATE), dict(PROBLEM))
            reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            if reply_to is not None and reply_to not in self.tweets:
                return problem(403, "Forbidden", "You attempted to reply to a Tweet that is deleted or "
                                                 "not visible to you.")
            for media_id in (body.get("media") or {}).get("media_ids", []):
                if media_id not in self.media:
                    return problem(400, "Invalid Request", f"Your media IDs are invalid: {media_id}",
                                   "https://api.x.com/2/problems/invalid-request")
            tweet_id = str(next(self.ids))
            self.tweets[tweet_id] = {"text": body.get("text"), "reply": reply_to,
                                     "media": (body.get("media") or {}).get("media_ids", [])}
            self.order.append(tweet_id)
            delay, self.delay_next_post = self.delay_next_post, 0.0
        return Reply(201, {"data": {"id": tweet_id, "text": body.get("text"),
                                    "edit_history_tweet_ids": [tweet_id]}}, self.limit_headers(), delay=delay)

    def schema_errors(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["$: must be an object"]
        errors = [f"$.{key}: is not defined in the schema and the schema does not allow additional properties"
                  for key in body if key not in CREATE_FIELDS]
        for name, allowed in NESTED_FIELDS.items():
            if name in body:
                if not isinstance(body[name], dict):
                    errors.append(f"$.{name}: must be an object")
                    continue
                errors += [f"$.{name}.{key}: is not defined in the schema and the schema does not allow "
                           f"additional properties" for key in body[name] if key not in allowed]
        text = body.get("text")
        if text is None and "media" not in body:
            errors.append("$.text: is required unless media is provided")
        if text is not None:
            if not isinstance(text, str):
                errors.append("$.text: must be a string")
            elif weighted_length(text) > 280:
                errors.append(f"$.text: weighted length {weighted_length(text)} is over 280")
        reply = body.get("reply")
        if isinstance(reply, dict) and not re.fullmatch(r"[0-9]{1,19}", str(reply.get("in_reply_to_tweet_id", ""))):
            errors.append("$.reply.in_reply_to_tweet_id: must match ^[0-9]{1,19}$")
        media = body.get("media")
        if isinstance(media, dict):
            ids = media.get("media_ids")
            if not isinstance(ids, list) or not 1 <= len(ids) <= 4 or not all(isinstance(i, str) for i in ids):
                errors.append("$.media.media_ids: 1 to 4 string ids")
        return errors

    def multipart(self, request: Request) -> dict[str, tuple[bytes, str | None]] | None:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return None
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
        fields = {}
        for part in message.iter_parts():
            fields[part.get_param("name", header="content-disposition")] = (
                part.get_payload(decode=True), part.get_filename())
        return fields

    def upload(self, request: Request) -> Reply:
        denied = self.authorize(request)
        if denied:
            return denied
        fields = self.multipart(request)
        if fields is None:
            return problem(400, "Invalid Request", "multipart/form-data expected",
                           "https://api.x.com/2/problems/invalid-request")
        unknown = set(fields) - {"media", "media_category", "media_type", "shared", "additional_owners"}
        if unknown or "media" not in fields:
            return problem(400, "Invalid Request", f"bad fields: {sorted(unknown) or 'media missing'}",
                           "https://api.x.com/2/problems/invalid-request")
        category = (fields.get("media_category") or (b"", None))[0].decode()
        data = fields["media"][0]
        if category not in MEDIA_CATEGORIES:
            return problem(400, "Invalid Request", f"media_category {category!r} is invalid",
                           "https://api.x.com/2/problems/invalid-request")
        if not data.startswith(IMAGE_MAGIC) or len(data) > 5 * 1024 * 1024:
            return problem(400, "Invalid Request", "media is not a JPG/PNG/GIF/WEBP image of at most 5 MB",
                           "https://api.x.com/2/problems/invalid-request")
        with self.lock:
            media_id = str(next(self.ids))
            self.media[media_id] = {"bytes": data, "category": category, "alt": None}
        return Reply(200, {"data": {"id": media_id, "media_key": f"3_{media_id}", "expires_after_secs": 86400,
                                    "size": len(data)}})

    def metadata(self, request: Request) -> Reply:
        denied = self.authorize(request)
        if denied:
            return denied
        body = request.json()
        media_id = body.get("id") if isinstance(body, dict) else None
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text") if isinstance(body, dict) else None
        if set(body or {}) - {"id", "metadata"} or media_id not in self.media or not isinstance(alt, str):
            return problem(400, "Invalid Request", "id and metadata.alt_text.text are required",
                           "https://api.x.com/2/problems/invalid-request")
        if len(alt) > 1000:
            return problem(400, "Invalid Request", "alt_text.text is longer than 1000",
                           "https://api.x.com/2/problems/invalid-request")
        self.media[media_id]["alt"] = alt
        return Reply(200, {"data": {"id": media_id, "associated_metadata": True}})

    def me(self, request: Request) -> Reply:
        return self.authorize(request) or Reply(200, {"data": dict(USER)}, self.limit_headers())

    def token(self, request: Request) -> Reply:
        """POST /2/oauth2/token: a confidential client authenticates with Basic (a public one names its
        client_id in the form); grant_type authorization_code (the code, its redirect_uri and the PKCE
        verifier) or refresh_token (rotating: each refresh hands out a new pair)."""
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Reply(400, {"error": "invalid_request", "error_description": "form body expected"})
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        basic = request.headers.get("authorization", "")
        if basic:
            try:
                client_id, _, secret = base64.b64decode(basic.removeprefix("Basic ")).decode().partition(":")
            except ValueError:
                client_id, secret = "", ""
            if not basic.startswith("Basic ") or not self.oauth2.client_ok(client_id, secret):
                return Reply(401, {"error": "unauthorized_client",
                                   "error_description": "Missing valid authorization header"})
        elif form.get("client_id") not in self.oauth2.apps:
            return Reply(400, {"error": "invalid_request",
                               "error_description": "Missing required parameter [client_id]."})
        else:
            client_id = form["client_id"]
            if self.oauth2.apps[client_id].secret:          # a confidential client must authenticate
                return Reply(401, {"error": "unauthorized_client",
                                   "error_description": "Missing valid authorization header"})
        if form.get("grant_type") == "authorization_code":
            return self.exchange_code(form, client_id)
        if form.get("grant_type") != "refresh_token":
            return Reply(400, {"error": "invalid_request", "error_description": "grant_type"})
        with self.lock:
            if form.get("refresh_token") != self.refresh_token:
                return Reply(400, {"error": "invalid_request",
                                   "error_description": "Value passed for the token was invalid."})
            self.refreshes += 1
            access = f"fake-oauth2-access-{self.refreshes + 1}"
            self.access_tokens = {access}                 # the old access token is dead too
            self.refresh_token = f"fake-oauth2-refresh-{self.refreshes + 1}"
        return Reply(200, {"token_type": "bearer", "expires_in": 7200, "access_token": access,
                           "scope": "tweet.write users.read tweet.read offline.access media.write",
                           "refresh_token": self.refresh_token})

    def exchange_code(self, form: dict[str, str], client_id: str) -> Reply:
        try:
            grant = self.oauth2.redeem(form.get("code", ""), client_id=client_id,
                                       redirect_uri=form.get("redirect_uri", ""), verifier=form.get("code_verifier"))
        except Refused:
            return Reply(400, {"error": "invalid_request",
                               "error_description": "Value passed for the authorization code was invalid."})
        access = f"fake-oauth2-access-code-{secrets.token_hex(8)}"
        answer = {"token_type": "bearer", "expires_in": 7200, "access_token": access, "scope": " ".join(grant["scopes"])}
        with self.lock:
            self.access_tokens.add(access)
            if "offline.access" in grant["scopes"]:       # a refresh token only with offline.access
                self.refresh_token = answer["refresh_token"] = f"fake-oauth2-refresh-code-{secrets.token_hex(8)}"
        return Reply(200, answer)

    # ---- OAuth 1.0a: request token, the user's PIN, access token ------------------------------------
    @staticmethod
    def oauth1_refused(message: str = "Could not authenticate you.", code: int = 32) -> Reply:
        return Reply(401, {"errors": [{"code": code, "message": message}]})

    def request_token(self, request: Request) -> Reply:
        """Signed with the consumer secret alone; oauth_callback=oob asks for the PIN flow."""
        oauth = parse_oauth_header(request.headers.get("authorization", "")) or {}
        if "oauth_token" in oauth or not self.signed(request, oauth, ""):
            return self.oauth1_refused()
        if oauth.get("oauth_callback") != "oob":
            return self.oauth1_refused("Callback URL not approved for this client application.", 415)
        token, secret = f"req-{secrets.token_hex(8)}", secrets.token_urlsafe(24)
        with self.lock:
            self.request_tokens[token] = secret
        return Reply(200, urlencode({"oauth_token": token, "oauth_token_secret": secret,
                                     "oauth_callback_confirmed": "true"}),
                     {"Content-Type": "application/x-www-form-urlencoded"})

    def pin_page(self, request: Request) -> Reply:
        """The page a logged-in user sees after clicking Authorize app: the PIN to type into the app."""
        token = (request.query.get("oauth_token") or [""])[-1]
        if token not in self.request_tokens:
            return Reply(400, "<p>This page is no longer valid. It looks like someone already used the token "
                              "information you provided.</p>")
        with self.lock:
            pin = self.verifiers.setdefault(token, f"{secrets.randbelow(10 ** 7):07d}")
        return Reply(200, f"<p>You've granted access to postbot!</p><p>Next, return to postbot and enter this PIN "
                          f"to complete the authorization process:</p><kbd><code>{pin}</code></kbd>")

    def access_token(self, request: Request) -> Reply:
        """Signed with the request token's secret; the PIN as oauth_verifier. The request token works once."""
        oauth = parse_oauth_header(request.headers.get("authorization", "")) or {}
        token = oauth.get("oauth_token", "")
        verifier = oauth.get("oauth_verifier") or dict(parse_qsl(request.body.decode())).get("oauth_verifier")
        if not self.signed(request, oauth, self.request_tokens.get(token)):
            return self.oauth1_refused()
        with self.lock:
            self.request_tokens.pop(token, None)
            pin = self.verifiers.pop(token, None)
            if pin is None or verifier != pin:
                return Reply(401, "Error processing your OAuth request: Invalid oauth_verifier parameter",
                             {"Content-Type": "text/plain"})
            access, secret = f"{USER['id']}-{secrets.token_hex(12)}", secrets.token_urlsafe(30)
            self.token_secrets[access] = secret
        return Reply(200, urlencode({"oauth_token": access, "oauth_token_secret": secret, "user_id": USER["id"],
                                     "screen_name": USER["username"]}),
                     {"Content-Type": "application/x-www-form-urlencoded"})

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens = set()

    def texts(self) -> list[str]:
        return [self.tweets[i]["text"] for i in self.order]
