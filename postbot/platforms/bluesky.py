"""Bluesky (AT Protocol): app.bsky.feed.post records with link and tag facets, sent with createRecord.

The record (text, facets, langs) is built at render time and sent as queued. What needs
I/O is described under the side key `_embed` and resolved when publishing: the post's
image (uploaded with its alt text) or else a link card for the post's main link, built
from the page's Open Graph tags (media.py fetches, parses and fits them). Keys starting
with "_" never reach the platform.

Exactly once: every record gets a client-chosen TID record key, saved in the delivery's
progress before createRecord is sent. A second createRecord with that key cannot make a
second post, and before any re-send the key is looked up with getRecord.

The session (createSession with an app password) is kept in the channel state and renewed
with refreshSession; logging in per post would hit createSession's tight rate limit.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from postbot import text as textlib
from postbot.errors import Ambiguous, AuthExpired, PublishError, RateLimited, Rejected, Retryable
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Rules, Sender
from postbot.platforms.media import (PAGE_MAX_BYTES, CardUnavailable, fetch, image_for_upload, image_source,
                                     local_image_refusal, parse_page)
from postbot.platforms.outcomes import epoch, error_message, json_object, raise_for_status, send

log = logging.getLogger("postbot.platforms.bluesky")

MAX_BYTES = 3000
DEFAULT_SERVICE = "https://bsky.social"
POST_COLLECTION = "app.bsky.feed.post"
SESSION_KEY = "session"
RKEYS_KEY = "rkeys"                     # progress: {"<part index>": rkey}
# Blob limit of the reference PDS 0.4.x and the documented client limit (the lexicon now allows 2 MB).
BLOB_MAX_BYTES = 1_000_000
TOKEN_ERRORS = ("ExpiredToken", "InvalidToken")
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
UTC = timezone.utc


# ---- small pure helpers ---------------------------------------------------------------------
_tid_lock = threading.Lock()
_last_tid_micros = 0


def new_tid() -> str:
    """A record key in the TID format: microseconds since the epoch and a random clock id,
    13 characters of base32-sortable. Monotonic within this process."""
    global _last_tid_micros
    with _tid_lock:
        micros = max(time.time_ns() // 1000, _last_tid_micros + 1)
        _last_tid_micros = micros
    value = (micros << 10) | random.getrandbits(10)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def lexicon_datetime(moment: datetime) -> str:
    """RFC 3339 with milliseconds and an upper-case Z, as the lexicon prefers."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def post_url(handle: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


def rkey_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def without_utm(url: str) -> str:
    """The link as written, without the tracking parameters the renderer added."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def main_link(links: list[str], post_url_value: str | None) -> str | None:
    """The link the card is for: the post's own URL when the text carries it, else the first link."""
    if post_url_value:
        for link in links:
            if link == post_url_value or without_utm(link) == without_utm(post_url_value):
                return link
    return links[0] if links else None


def _error_name(response) -> str:
    return str(json_object(response).get("error") or "")


def _reset(response) -> datetime | None:
    return epoch(response.headers.get("ratelimit-reset"))


class BlueskyRules(Rules):
    platform = "bluesky"
    label = "Bluesky"
    color = "#1185fe"
    limit = 300
    supports_threads = True

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        display, facets = textlib.bluesky_facets(rendered)
        links = [feature["uri"] for facet in facets for feature in facet["features"]
                 if feature["$type"] == "app.bsky.richtext.facet#link"]
        return Prepared(display, links, {"facets": facets})

    def measure(self, prepared: Prepared) -> int:
        return textlib.grapheme_len(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        return self._size_problems(textlib.utf8_len(prepared.text))

    def tally(self, piece: str, post: Post | None = None, first: bool = True) -> tuple:
        shown = textlib.bluesky_display(piece)
        return textlib.grapheme_len(shown), textlib.utf8_len(shown)

    def judge(self, tally: tuple) -> tuple[int, list[str]]:
        return tally[0], self._size_problems(tally[1])

    @staticmethod
    def _size_problems(size: int) -> list[str]:
        return [f"{size} UTF-8 bytes, over Bluesky's {MAX_BYTES}"] if size > MAX_BYTES else []

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST_COLLECTION, "text": prepared.text}
        if prepared.extra.get("facets"):
            record["facets"] = prepared.extra["facets"]
        if post.lang:
            record["langs"] = [post.lang]
        embed: dict[str, Any] = {}
        if post.image:
            # Only the first part of a thread carries the image (see publish).
            embed.update(image=image_source(post), alt=post.image_alt or "")
        card = main_link(prepared.links, post.url)
        if card:
            embed["external"] = card
        if embed:
            record["_embed"] = embed
        return record

    def refuse(self, post: Post) -> str | None:
        return local_image_refusal(post, image_source(post), platform="Bluesky")


class BlueskySender(Sender):
    kind = "bluesky"
    refreshes = True
    rules_class = BlueskyRules
    dedupes = True
    required = ("HANDLE", "APP_PASSWORD")

    # ---- settings and endpoints ------------------------------------------------------------------
    def service(self) -> str:
        return (self.channel.setting("SERVICE", DEFAULT_SERVICE) or DEFAULT_SERVICE).rstrip("/")

    def handle(self) -> str:
        return (self.channel.setting("HANDLE") or "").strip().lstrip("@")

    def xrpc(self, method: str) -> str:
        return f"{self.service()}/xrpc/{method}"

    def _login_fix(self) -> str:
        return (f"check {self.channel.var('APP_PASSWORD')} (an app password from Settings > Privacy and "
                f"security > App passwords, not your account password) and {self.channel.var('HANDLE')}")

    # ---- session --------------------------------------------------------------------------------
    def _stored_session(self) -> dict[str, Any] | None:
        """The kept session, if it belongs to the configured account and server."""
        session = self.state.get(SESSION_KEY)
        if not isinstance(session, dict) or not session.get("accessJwt"):
            return None
        if session.get("for") != [self.service(), self.handle()]:
            return None
        return session

    def _keep(self, answer: dict[str, Any]) -> dict[str, Any]:
        session = {key: answer.get(key) for key in ("accessJwt", "refreshJwt", "did", "handle")}
        if not session["accessJwt"] or not session["did"]:
            raise Rejected("bluesky answered a session without accessJwt or did", sent=False)
        session["for"] = [self.service(), self.handle()]
        self.state.set(SESSION_KEY, session)
        return session

    async def _create_session(self, client, now: datetime) -> dict[str, Any]:
        self.require_settings()
        response = await send(client, "POST", self.xrpc("com.atproto.server.createSession"),
                              what="bluesky login", json={"identifier": self.handle(),
                                                          "password": self.channel.setting("APP_PASSWORD")})
        if response.status_code == 401 or _error_name(response) in ("AuthFactorTokenRequired", "AccountTakedown"):
            raise Rejected(f"bluesky refused the login: {error_message(response)}; {self._login_fix()}",
                           status=response.status_code, sent=False)
        raise_for_status(response, platform="bluesky login", now=now, reset=_reset(response))
        log.info("bluesky channel %s: new session for %s", self.channel.name, self.handle())
        return self._keep(response.json())

    async def _refresh_session(self, client, now: datetime) -> dict[str, Any]:
        """refreshSession with the refresh token as bearer; a new login when that token is dead too."""
        session = self._stored_session()
        if not session or not session.get("refreshJwt"):
            return await self._create_session(client, now)
        response = await send(client, "POST", self.xrpc("com.atproto.server.refreshSession"),
                              what="bluesky session refresh",
                              headers={"Authorization": f"Bearer {session['refreshJwt']}"})
        if response.status_code == 401 or _error_name(response) in TOKEN_ERRORS:
            return await self._create_session(client, now)
        raise_for_status(response, platform="bluesky session refresh", now=now, reset=_reset(response))
        return self._keep(response.json())

    async def session(self, client, now: datetime) -> dict[str, Any]:
        return self._stored_session() or await self._create_session(client, now)

    async def refresh(self, ctx: PublishContext) -> None:
        await self._refresh_session(ctx.client, ctx.now())

    def _auth(self, session: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {session['accessJwt']}"}

    def _raise(self, response, now: datetime, *, what: str = "bluesky", sent: bool = True) -> None:
        """Bluesky's quirk first: an expired access token is a 400, not a 401."""
        if _error_name(response) in TOKEN_ERRORS:
            raise AuthExpired(f"{what} answered {response.status_code}: {error_message(response)}",
                              status=response.status_code, sent=False)
        self.raise_for(response, now, platform=what, sent=sent, reset=_reset(response),
                       fix=self._login_fix() if response.status_code in (401, 403) else "")

    # ---- lookup ---------------------------------------------------------------------------------
    async def _get_record(self, client, repo: str, rkey: str, now: datetime) -> dict[str, Any] | None:
        """The record at repo/rkey, None when there is none. getRecord needs no session."""
        response = await send(client, "GET", self.xrpc("com.atproto.repo.getRecord"), what="bluesky lookup",
                              params={"repo": repo, "collection": POST_COLLECTION, "rkey": rkey})
        if response.status_code == 400 and _error_name(response) == "RecordNotFound":
            return None
        self._raise(response, now, what="bluesky lookup", sent=False)
        return response.json()

    def _published(self, uri: str, cid: str, handle: str | None) -> Published:
        rkey = rkey_of(uri)
        author = handle or self.handle() or uri.split("/")[2]
        return Published(remote_id=uri, remote_url=post_url(author, rkey), extra={"uri": uri, "cid": cid})

    async def recover(self, payload: dict[str, Any], ctx: PublishContext) -> Published | None:
        rkey = (ctx.progress.get(RKEYS_KEY) or {}).get(str(ctx.part_index))
        repo = ctx.progress.get("repo")
        if not rkey or not repo:
            return None     # the key is saved before sending: without one nothing was sent
        try:
            found = await self._get_record(ctx.client, repo, rkey, ctx.now())
        except PublishError as exc:
            raise Ambiguous(f"cannot look up bluesky record {rkey}: {exc}") from None
        if found is None:
            return None
        handle = (self._stored_session() or {}).get("handle")
        return self._published(found["uri"], found["cid"], handle)

    # ---- publishing -------------------------------------------------------------------------------
    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        session = await self.session(ctx.client, ctx.now())
        rkeys = dict(ctx.progress.get(RKEYS_KEY) or {})
        rkey = rkeys.get(str(ctx.part_index))
        if rkey and ctx.progress.get("repo") == session["did"]:
            # A re-send: an earlier attempt may have landed (a crash, a lost answer).
            found = await self.recover(payload, ctx)
            if found is not None:
                return found
        else:
            rkey = new_tid()
            rkeys[str(ctx.part_index)] = rkey
            ctx.save_progress({RKEYS_KEY: rkeys, "repo": session["did"]})
        record = {key: value for key, value in payload.items() if not key.startswith("_")}
        if ctx.part_index > 0:
            record["reply"] = self._reply(ctx)
        embed = await self._embed(payload.get("_embed") or {}, ctx, session)
        if embed:
            record["embed"] = embed
        record["createdAt"] = lexicon_datetime(ctx.now())
        body = {"repo": session["did"], "collection": POST_COLLECTION, "rkey": rkey, "record": record}
        try:
            response = await send(ctx.client, "POST", self.xrpc("com.atproto.repo.createRecord"),
                                  what="bluesky post", json=body, headers=self._auth(session))
            self._raise(response, ctx.now())
        except Retryable as exc:
            if exc.sent:
                # It may have landed (re-sending a used key even answers 500): look before anyone re-sends.
                try:
                    found = await self.recover(payload, ctx)
                except PublishError:
                    found = None
                if found is not None:
                    return found
            raise
        answer = response.json()
        if not answer.get("uri") or not answer.get("cid"):
            raise Rejected(f"bluesky answered {response.status_code} without uri and cid")
        return self._published(answer["uri"], answer["cid"], session.get("handle"))

    def _reply(self, ctx: PublishContext) -> dict[str, Any]:
        refs = []
        for published in (ctx.root, ctx.parent):
            extra = published.extra if published else {}
            if not extra.get("uri") or not extra.get("cid"):
                raise Rejected(f"thread part {ctx.part_index + 1}: the earlier part's uri and cid are missing; "
                               f"cannot chain the reply", sent=False)
            refs.append({"uri": extra["uri"], "cid": extra["cid"]})
        return {"root": refs[0], "parent": refs[1]}

    async def _embed(self, wanted: dict[str, Any], ctx: PublishContext,
                     session: dict[str, Any]) -> dict[str, Any] | None:
        """One embed: the image on the first part wins over the link card."""
        if wanted.get("image") and ctx.part_index == 0:
            data, mime, width, height = await image_for_upload(ctx.client, str(wanted["image"]), BLOB_MAX_BYTES,
                                                               policy=ctx.fetch_policy)
            blob = await self._upload(ctx, session, data, mime)
            image = {"image": blob, "alt": str(wanted.get("alt") or "")}
            if width and height:
                image["aspectRatio"] = {"width": width, "height": height}
            return {"$type": "app.bsky.embed.images", "images": [image]}
        if wanted.get("external"):
            return await self._card(str(wanted["external"]), ctx, session)
        return None

    async def _upload(self, ctx: PublishContext, session: dict[str, Any], data: bytes, mime: str) -> dict[str, Any]:
        response = await send(ctx.client, "POST", self.xrpc("com.atproto.repo.uploadBlob"), what="bluesky upload",
                              content=data, headers={**self._auth(session), "Content-Type": mime})
        self._raise(response, ctx.now(), what="bluesky upload", sent=False)
        blob = (response.json() or {}).get("blob")
        if not isinstance(blob, dict):
            raise Rejected("bluesky uploadBlob answered without a blob", sent=False)
        return blob

    async def _card(self, uri: str, ctx: PublishContext, session: dict[str, Any]) -> dict[str, Any] | None:
        """app.bsky.embed.external from the page's Open Graph tags; no card when the page is out of reach."""
        page_url = without_utm(uri)
        try:
            page = await fetch(ctx.client, page_url, PAGE_MAX_BYTES, accept="text/html", policy=ctx.fetch_policy)
        except CardUnavailable as exc:
            log.warning("bluesky channel %s: no link card for %s: %s", self.channel.name, page_url, exc)
            return None
        meta = parse_page(page.text, page.url)
        external: dict[str, Any] = {"uri": uri, "title": meta["title"] or page_url,
                                    "description": meta["description"]}
        if meta["image"]:
            try:
                data, mime, _, _ = await image_for_upload(ctx.client, meta["image"], BLOB_MAX_BYTES, remote_only=True,
                                                          policy=ctx.fetch_policy)
            except CardUnavailable as exc:
                log.warning("bluesky channel %s: link card for %s without a picture: %s",
                            self.channel.name, page_url, exc)
            else:
                external["thumb"] = await self._upload(ctx, session, data, mime)
        return {"$type": "app.bsky.embed.external", "external": external}

    # ---- status ----------------------------------------------------------------------------------
    async def check(self, client) -> str:
        self.require_settings()
        now = datetime.now(UTC)
        try:
            session = await (self._refresh_session(client, now) if self._stored_session()
                             else self._create_session(client, now))
        except Rejected as exc:
            raise self.check_failed(str(exc)) from None
        except RateLimited as exc:
            raise self.check_failed(str(exc), f"try again after {exc.until.isoformat(timespec='seconds')}") from None
        except PublishError as exc:
            raise self.check_failed(str(exc), f"check {self.channel.var('SERVICE')}") from None
        host = urlsplit(self.service()).netloc
        return f"@{session.get('handle') or self.handle()} ({session['did']}) on {host}"


RULES = BlueskyRules
SENDER = BlueskySender
