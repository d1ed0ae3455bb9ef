"""X (Twitter) API v2: twitter-text v3 weighted length; POST /2/tweets with an optional image upload.

Credentials: OAuth 1.0a user context (API key/secret + access token/secret, never expire) or an
OAuth 2.0 user token whose refresh token rotates on every refresh (the new pair is kept in the
channel state before it is used). X has no idempotency key and no cheap lookup: a request that may
have landed is never sent again blindly (dedupes=False, recover() raises Ambiguous).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from postbot import text as textlib
from postbot.errors import Ambiguous, PublishError, Rejected, Retryable, unsent
from postbot.models import Post, Published
from postbot.platforms.base import CheckResult, Prepared, PublishContext, Rules, Sender
from postbot.platforms.lifetime import expiry_after
from postbot.platforms.media import image_source, local_image_refusal, read_image
from postbot.platforms.outcomes import epoch, error_message, iso_time, send

log = logging.getLogger("postbot.platforms.x")

DEFAULT_API = "https://api.x.com"
OAUTH1_SETTINGS = ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")
OAUTH2_SETTINGS = ("OAUTH2_ACCESS_TOKEN", "OAUTH2_REFRESH_TOKEN", "CLIENT_ID")
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = (".jpg", ".jpeg", ".png", ".gif", ".webp")
ALT_TEXT_MAX = 1000
TOKENS_STATE_KEY = "oauth2_tokens"
# OAuth 2.0 access tokens last two hours: renew this long before, so a post never meets an expired one.
OAUTH2_RENEW_AHEAD = timedelta(minutes=5)
# Where the state records a part whose request may have landed (timeout, 5xx), so a later
# "duplicate content" answer is read as "that earlier attempt landed", not as a new rejection.
UNSURE_KEY = "x_unsure_parts"


def oauth1_authorization(method: str, url: str, *, consumer_key: str, consumer_secret: str,
                         token: str | None, token_secret: str | None, form: dict[str, str] | None = None,
                         nonce: str | None = None, timestamp: str | None = None,
                         callback: str | None = None, verifier: str | None = None) -> str:
    """The `Authorization: OAuth ...` value for one request (HMAC-SHA1, RFC 5849).

    Only query and form-encoded parameters are signed; JSON and multipart bodies are not, and no
    oauth_body_hash is added (X's own clients sign as if there were no body). A fresh nonce and
    timestamp are drawn for every call unless given (the documented example fixes both). `callback`
    and `verifier` are for getting a token (`postbot connect x`): no token yet, then a request token."""
    from urllib.parse import quote, urlencode

    from oauthlib.oauth1 import Client
    client = Client(consumer_key, client_secret=consumer_secret, resource_owner_key=token,
                    resource_owner_secret=token_secret, nonce=nonce, timestamp=timestamp,
                    callback_uri=callback, verifier=verifier)
    if form:
        body = urlencode(form, quote_via=quote)
        _, headers, _ = client.sign(url, http_method=method, body=body,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        _, headers, _ = client.sign(url, http_method=method)
    return headers["Authorization"]


class XRules(Rules):
    platform = "x"
    label = "X"
    color = "#000000"
    limit = 280
    supports_threads = True

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        return Prepared(rendered, [url for _, _, url in textlib.x_url_spans(rendered)])

    def measure(self, prepared: Prepared) -> int:
        return textlib.x_length(prepared.text)

    def tally(self, piece: str, post: Post | None = None, first: bool = True) -> tuple:
        return (textlib.x_weight(piece),)

    def judge(self, tally: tuple) -> tuple[int, list[str]]:
        return textlib.x_length_from_weight(tally[0]), []

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": prepared.text}
        if post.image:
            # Underscore keys never reach X: the sender turns them into an upload first.
            payload["_media"] = {"path_or_url": image_source(post), "alt": post.image_alt or ""}
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if prepared.links:
            return ["X bills a post with a URL at $0.20 instead of $0.015 (pay-per-use pricing "
                    "since 2026-04-20); drop the links for X to pay less"]
        return []

    def refuse(self, post: Post) -> str | None:
        if post.image and post.image_alt and len(post.image_alt) > ALT_TEXT_MAX:
            return f"image_alt is {len(post.image_alt)} characters; X allows {ALT_TEXT_MAX}, shorten it"
        return local_image_refusal(post, image_source(post), platform="X", max_bytes=IMAGE_MAX_BYTES,
                                   size="5 MB image", suffixes=IMAGE_TYPES, kinds="JPG, PNG, GIF or WEBP")


class XSender(Sender):
    kind = "x"
    refreshes = True            # OAuth 2.0 (OAuth 1.0a's refresh says what to fix)
    rules_class = XRules
    dedupes = False
    required = OAUTH1_SETTINGS

    # ---- settings -----------------------------------------------------------------------
    def auth_mode(self) -> str | None:
        """oauth1 when its four settings are there (they never expire), else oauth2, else None."""
        if all(self.channel.setting(key) for key in OAUTH1_SETTINGS):
            return "oauth1"
        if all(self.channel.setting(key) for key in OAUTH2_SETTINGS):
            return "oauth2"
        return None

    def missing_settings(self) -> list[str]:
        if self.auth_mode():
            return []
        if any(self.channel.setting(key) for key in OAUTH2_SETTINGS + ("CLIENT_SECRET",)):
            return [self.channel.var(key) for key in OAUTH2_SETTINGS if not self.channel.setting(key)]
        missing = [self.channel.var(key) for key in OAUTH1_SETTINGS if not self.channel.setting(key)]
        oauth2 = ", ".join(self.channel.var(key) for key in OAUTH2_SETTINGS)
        missing[-1] += f" (or, for an OAuth 2.0 user token: {oauth2})"
        return missing

    def api(self, path: str) -> str:
        return (self.channel.setting("API_URL", DEFAULT_API) or DEFAULT_API).rstrip("/") + path

    def status_url(self, tweet_id: str) -> str:
        username = (self.channel.setting("USERNAME") or "i").lstrip("@")
        return f"https://x.com/{username}/status/{tweet_id}"

    def credentials_fix(self) -> str:
        reconnect = f"postbot connect x --name {self.channel.name}"
        if self.auth_mode() == "oauth2":
            names = ", ".join(self.channel.var(k) for k in OAUTH2_SETTINGS)
            return f"authorize the app again: run `{reconnect}` and choose OAuth 2.0 (it sets {names})"
        names = ", ".join(self.channel.var(k) for k in OAUTH1_SETTINGS)
        return (f"check {names} (regenerate them in the X developer portal with read and write access), "
                f"or run `{reconnect}`")

    # ---- OAuth 2.0 tokens --------------------------------------------------------------------
    def oauth2_tokens(self) -> dict[str, Any]:
        """The newest pair: the rotated one in the state, unless the settings hold a newer grant."""
        configured = {"access_token": self.channel.setting("OAUTH2_ACCESS_TOKEN"),
                      "refresh_token": self.channel.setting("OAUTH2_REFRESH_TOKEN"),
                      "expires_at": self.channel.setting("OAUTH2_EXPIRES_AT")}
        kept = self.state.get(TOKENS_STATE_KEY)
        if isinstance(kept, dict) and kept.get("granted_from") == configured["refresh_token"]:
            return kept
        return configured

    async def _refresh_tokens(self, client, now) -> None:
        import httpx

        tokens = self.oauth2_tokens()
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"] or "",
                "client_id": self.channel.setting("CLIENT_ID") or ""}
        secret = self.channel.setting("CLIENT_SECRET")
        auth = httpx.BasicAuth(form["client_id"], secret) if secret else None
        try:
            response = await send(client, "POST", self.api("/2/oauth2/token"), what="x token refresh",
                                  data=form, auth=auth)
        except Retryable as exc:
            # The post itself got a 401, so it was not created whatever happened to the refresh.
            raise unsent(exc) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise Retryable(f"x token refresh answered {response.status_code}", sent=False,
                            status=response.status_code)
        if response.status_code != 200:
            raise Rejected(f"x token refresh answered {response.status_code}: {error_message(response)}; "
                           f"{self.credentials_fix()}", status=response.status_code, sent=False)
        answer = response.json()
        if not answer.get("access_token") or not answer.get("refresh_token"):
            raise Rejected("x token refresh answered without a token pair; " + self.credentials_fix(), sent=False)
        # One write holds the whole pair: the old refresh token is dead from now on.
        self.state.set(TOKENS_STATE_KEY, {
            "access_token": answer["access_token"], "refresh_token": answer["refresh_token"],
            "expires_at": expiry_after(now, answer.get("expires_in")),
            "granted_from": self.channel.setting("OAUTH2_REFRESH_TOKEN")})

    def oauth2_expiry(self) -> datetime | None:
        return iso_time(self.oauth2_tokens().get("expires_at"))

    async def renew(self, client, now: datetime) -> None:
        """Refresh an OAuth 2.0 access token within OAUTH2_RENEW_AHEAD of its expiry (or past it), keeping
        the rotated pair. While the old token still works, a failed refresh only warns: the next post or
        `status` tries again, and the post goes out with the old token."""
        expires = self.oauth2_expiry() if self.auth_mode() == "oauth2" else None
        if expires is None or expires > now + OAUTH2_RENEW_AHEAD:
            return
        try:
            await self._refresh_tokens(client, now)
        except PublishError as exc:
            if expires <= now + timedelta(seconds=30):
                raise
            log.warning("x channel %s: could not renew the OAuth 2.0 token (%s); it is valid until %s",
                        self.channel.name, exc, expires.isoformat())
            return
        log.info("x channel %s: OAuth 2.0 token renewed, valid until %s", self.channel.name,
                 self.oauth2_tokens().get("expires_at") or "unknown")

    async def refresh(self, ctx: PublishContext) -> None:
        if self.auth_mode() != "oauth2":
            raise Rejected(f"x rejected the OAuth 1.0a credentials; {self.credentials_fix()}", sent=False)
        await self._refresh_tokens(ctx.client, ctx.now())

    def authorization(self, method: str, url: str) -> str:
        if self.auth_mode() == "oauth2":
            return f"Bearer {self.oauth2_tokens()['access_token']}"
        setting = self.channel.setting
        return oauth1_authorization(method, url, consumer_key=setting("API_KEY"),
                                    consumer_secret=setting("API_SECRET"), token=setting("ACCESS_TOKEN"),
                                    token_secret=setting("ACCESS_TOKEN_SECRET"))

    # ---- requests ------------------------------------------------------------------------------
    async def _request(self, client, method: str, path: str, *, what: str, **kwargs: Any):
        url = self.api(path)
        headers = {**kwargs.pop("headers", {}), "Authorization": self.authorization(method, url)}
        return await send(client, method, url, what=what, headers=headers, **kwargs)

    def _raise(self, response, now, *, sent: bool = True) -> None:
        if response.status_code == 401 and self.auth_mode() != "oauth2":
            raise Rejected(f"x answered 401: {error_message(response)}; {self.credentials_fix()}",
                           status=401, sent=False)
        self.raise_for(response, now, platform="x", sent=sent, reset=epoch(response.headers.get("x-rate-limit-reset")),
                       fix=self.credentials_fix() if response.status_code in (401, 403) else "")

    async def _upload(self, media: dict[str, Any], ctx: PublishContext) -> str:
        """Upload the image and its alt text; returns the media id. Nothing is posted yet, so any
        failure here leaves the post unsent (an unused upload expires by itself)."""
        source = str(media.get("path_or_url") or "")
        data, name, mime = await read_image(ctx.client, source, ctx.fetch_policy)
        try:
            response = await self._request(ctx.client, "POST", "/2/media/upload", what="x media upload",
                                           data={"media_category": "tweet_image"},
                                           files={"media": (name, data, mime)})
        except Retryable as exc:
            raise unsent(exc) from None
        self._raise(response, ctx.now(), sent=False)
        media_id = str(((response.json() or {}).get("data") or {}).get("id") or "")
        if not media_id:
            raise Rejected("x media upload answered without a media id", sent=False)
        alt = media.get("alt")
        if alt:
            body = {"id": media_id, "metadata": {"alt_text": {"text": alt}}}
            try:
                response = await self._request(ctx.client, "POST", "/2/media/metadata",
                                               what="x media alt text", json=body)
            except Retryable as exc:
                raise unsent(exc) from None
            self._raise(response, ctx.now(), sent=False)
        return media_id

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        body = {key: value for key, value in payload.items() if not key.startswith("_")}
        if ctx.parent is not None and ctx.part_index > 0:
            body["reply"] = {"in_reply_to_tweet_id": ctx.parent.remote_id}
        media = payload.get("_media")
        if media and ctx.part_index == 0:
            body["media"] = {"media_ids": [await self._upload(media, ctx)]}
        unsure = [int(i) for i in ctx.progress.get(UNSURE_KEY, [])]
        try:
            response = await self._request(ctx.client, "POST", "/2/tweets", what="x post", json=body)
            if response.status_code == 403 and "duplicate content" in error_message(response).lower():
                if ctx.part_index in unsure:
                    raise Ambiguous("x says this text is already posted: the earlier attempt that got no "
                                    "clear answer most likely landed", status=403)
                raise Rejected("x refused it as duplicate content: the same text is probably already "
                               "posted on the account; check it, or change the text and queue it again",
                               status=403)
            self._raise(response, ctx.now())
        except Retryable as exc:
            # A timeout or 5xx may have created the post: remember it for reading a later 403.
            if exc.sent and ctx.part_index not in unsure:
                ctx.save_progress({UNSURE_KEY: unsure + [ctx.part_index]})
            raise
        tweet_id = str(((response.json() or {}).get("data") or {}).get("id") or "")
        if not tweet_id:
            raise Ambiguous(f"x answered {response.status_code} without a post id")
        return Published(tweet_id, self.status_url(tweet_id))

    async def check(self, client, now: datetime | None = None) -> str:
        self.require_settings()
        now = now or datetime.now(timezone.utc)
        try:
            await self.renew(client, now)       # status keeps the token alive too
        except PublishError as exc:
            raise self.check_failed(str(exc)) from None
        response = await self._request(client, "GET", "/2/users/me", what="x credentials check")
        if response.status_code == 401 and self.auth_mode() == "oauth2":
            try:
                await self._refresh_tokens(client, now)
            except PublishError as exc:
                raise self.check_failed(str(exc)) from None
            response = await self._request(client, "GET", "/2/users/me", what="x credentials check")
        self.check_answer(response, platform="x", auth_fix=self.credentials_fix(),
                          other_fix=f"check {self.channel.var('API_URL')}")
        user = (response.json() or {}).get("data") or {}
        summary = f"@{user.get('username', '?')} ({self.auth_mode()})"
        expires = self.oauth2_expiry() if self.auth_mode() == "oauth2" else None
        if expires is not None:
            summary += (f", access token valid until {expires.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC "
                        f"(renewed with the refresh token before then)")
        return CheckResult(summary)


RULES = XRules
SENDER = XSender
