"""Mastodon: the instance's own limits and counting; POST /api/v1/statuses with an Idempotency-Key.

The instance's own limits (GET /api/v2/instance) are cached in the channel state with the time
they were read. The content warning (spoiler_text) counts toward the limit together with the text,
the way Mastodon's length validator counts them. Access tokens do not expire.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from postbot import text as textlib
from postbot.errors import Rejected, Retryable, unsent
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Rules, Sender
from postbot.platforms.media import image_source, local_image_refusal, read_image
from postbot.platforms.outcomes import error_message, iso_time, send

DEFAULT_LIMIT = 500
DEFAULT_URL_LENGTH = 23
DEFAULT_DESCRIPTION_LIMIT = 1500
VISIBILITIES = ("public", "unlisted", "private", "direct")
LIMITS_MAX_AGE = timedelta(hours=24)
MEDIA_STATE_KEY = "mastodon_media"       # in a delivery's progress: part index -> uploaded media id
MEDIA_RECHECK = timedelta(seconds=15)


class MastodonRules(Rules):
    platform = "mastodon"
    label = "Mastodon"
    color = "#6364ff"
    limit = DEFAULT_LIMIT
    supports_threads = True

    def content_warning(self, post: Post | None) -> str:
        if post is not None and post.content_warning:
            return post.content_warning
        return self.channel.setting("CONTENT_WARNING") or ""

    def limit_for(self, post: Post | None = None) -> int:
        return int(self.state.get("max_characters", DEFAULT_LIMIT))

    def url_length(self) -> int:
        return int(self.state.get("characters_reserved_per_url", DEFAULT_URL_LENGTH))

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        # The content warning counts toward the limit with the text, as Mastodon's validator counts them.
        prepared = super().prepare(rendered, post)
        warning = self.content_warning(post)
        if warning:
            prepared.extra["spoiler_text"] = warning
        return prepared

    def measure(self, prepared: Prepared) -> int:
        spoiler = prepared.extra.get("spoiler_text") or ""
        return textlib.mastodon_length(spoiler + prepared.text, self.url_length())

    def tally(self, piece: str, post: Post | None = None, first: bool = True) -> tuple:
        # The content warning is counted in front of the text, so with its first piece.
        lead = self.content_warning(post) if first else ""
        return (textlib.mastodon_length(lead + piece, self.url_length()),)

    def judge(self, tally: tuple) -> tuple[int, list[str]]:
        return tally[0], []

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"status": prepared.text,
                                   "visibility": post.visibility or self.channel.setting("VISIBILITY", "public")}
        if post.lang:
            payload["language"] = post.lang.split("-")[0].lower()
        warning = self.content_warning(post)
        if warning:
            payload["spoiler_text"] = warning
        if post.image:
            # Underscore keys never reach the instance: the sender turns them into an upload first.
            payload["_media"] = {"path_or_url": image_source(post), "alt": post.image_alt or ""}
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if self.state.get("max_characters") is None:
            return [f"instance limit unknown (set {self.channel.var('URL')} and make it reachable); "
                    f"assuming {DEFAULT_LIMIT}"]
        return []

    def refuse(self, post: Post) -> str | None:
        visibility = post.visibility or self.channel.setting("VISIBILITY", "public")
        if visibility not in VISIBILITIES:
            where = "the post's visibility" if post.visibility else self.channel.var("VISIBILITY")
            return f"{where} is {visibility!r}; use one of {', '.join(VISIBILITIES)}"
        if not post.image:
            return None
        alt_limit = int(self.state.get("description_limit", DEFAULT_DESCRIPTION_LIMIT))
        if post.image_alt and len(post.image_alt) > alt_limit:
            return f"image_alt is {len(post.image_alt)} characters; this instance allows {alt_limit}, shorten it"
        size_limit = self.state.get("image_size_limit")
        return local_image_refusal(post, image_source(post), platform="this instance",
                                   max_bytes=int(size_limit) if size_limit else None,
                                   size=f"{int(size_limit or 0) // (1024 * 1024)} MB image")


class MastodonSender(Sender):
    kind = "mastodon"
    rules_class = MastodonRules
    dedupes = True
    required = ("URL", "ACCESS_TOKEN")

    # ---- instance limits --------------------------------------------------------------------
    def base_url(self) -> str:
        return (self.channel.setting("URL") or "").rstrip("/")

    async def load_limits(self, client, now: datetime | None = None) -> list[str]:
        """Read the instance's limits unless a fresh copy is cached; on failure keep what is known."""
        now = now or datetime.now(timezone.utc)
        fetched = iso_time(self.state.get("limits_fetched_at"))
        if fetched and now - fetched < LIMITS_MAX_AGE and self.state.get("max_characters") is not None:
            return []
        if not self.base_url():
            return [f"set {self.channel.var('URL')} to read the instance's limits; assuming {DEFAULT_LIMIT}"]
        problem = None
        try:
            response = await send(client, "GET", self.base_url() + "/api/v2/instance", what="mastodon instance")
            if response.status_code != 200:
                problem = f"it answered {response.status_code}"
            else:
                config = (response.json() or {}).get("configuration") or {}
                statuses = config.get("statuses") or {}
                media = config.get("media_attachments") or {}
                if not isinstance(statuses.get("max_characters"), int):
                    problem = "its answer has no configuration.statuses.max_characters"
        except Exception as exc:  # an unreachable instance must not stop a preview
            problem = str(exc) or type(exc).__name__
        if problem:
            known = self.state.get("max_characters")
            keeping = (f"keeping {known} read on {self.state.get('limits_fetched_at')}" if known is not None
                       else f"assuming {DEFAULT_LIMIT}")
            return [f"could not read the limits of {self.channel.var('URL')} ({problem}); {keeping}"]
        self.state.set("max_characters", statuses["max_characters"])
        self.state.set("characters_reserved_per_url",
                       int(statuses.get("characters_reserved_per_url") or DEFAULT_URL_LENGTH))
        for key in ("image_size_limit", "description_limit"):
            if isinstance(media.get(key), int):
                self.state.set(key, media[key])
        self.state.set("limits_fetched_at", now.isoformat())
        return []

    # ---- publishing ---------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.channel.setting('ACCESS_TOKEN')}"}

    def _raise(self, response, now: datetime, *, sent: bool = True) -> None:
        if response.status_code == 401:
            # Mastodon tokens never expire: a 401 means revoked or mistyped, nothing to refresh.
            raise Rejected(f"mastodon answered 401: {error_message(response)}; check "
                           f"{self.channel.var('ACCESS_TOKEN')} (create a new token under Preferences > "
                           f"Development on your instance)", status=401, sent=False)
        self.raise_for(response, now, platform="mastodon", sent=sent,
                       reset=iso_time(response.headers.get("x-ratelimit-reset")))

    async def _media_id(self, media: dict[str, Any], ctx: PublishContext) -> str:
        """Upload once per delivery (the id is kept in progress), then wait for processing by
        retrying the delivery later instead of sleeping here."""
        uploaded = dict(ctx.progress.get(MEDIA_STATE_KEY) or {})
        media_id = uploaded.get(str(ctx.part_index))
        response = await self._media_status(media_id, ctx) if media_id else None
        if response is None:
            data, name, mime = await read_image(ctx.client, str(media.get("path_or_url") or ""), ctx.fetch_policy)
            form = {"description": media["alt"]} if media.get("alt") else {}
            try:
                response = await send(ctx.client, "POST", f"{self.base_url()}/api/v2/media",
                                      what="mastodon media upload", headers=self.headers(),
                                      data=form, files={"file": (name, data, mime)})
            except Retryable as exc:
                raise unsent(exc) from None
            self._raise(response, ctx.now(), sent=False)
            media_id = str((response.json() or {}).get("id") or "")
            if not media_id:
                raise Rejected("mastodon media upload answered without an id", sent=False)
            uploaded[str(ctx.part_index)] = media_id
            ctx.save_progress({MEDIA_STATE_KEY: uploaded})
            if not _ready(response):
                response = await self._media_status(media_id, ctx)
        if response is None or not _ready(response):
            raise Retryable("mastodon is still processing the image; trying again shortly",
                            after=ctx.now() + MEDIA_RECHECK, sent=False)
        return media_id

    async def _media_status(self, media_id: str, ctx: PublishContext):
        """GET /api/v1/media/:id: 206 while processing, 200 when ready; None when it is gone."""
        try:
            response = await send(ctx.client, "GET", f"{self.base_url()}/api/v1/media/{media_id}",
                                  what="mastodon media status", headers=self.headers())
        except Retryable as exc:
            raise unsent(exc) from None
        if response.status_code == 404:
            return None
        self._raise(response, ctx.now(), sent=False)
        return response

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        body = {key: value for key, value in payload.items() if not key.startswith("_")}
        if ctx.parent is not None and ctx.part_index > 0:
            body["in_reply_to_id"] = ctx.parent.remote_id
        media = payload.get("_media")
        if media and ctx.part_index == 0:
            body["media_ids"] = [await self._media_id(media, ctx)]
        response = await send(ctx.client, "POST", f"{self.base_url()}/api/v1/statuses", what="mastodon post",
                              json=body, headers={**self.headers(), "Idempotency-Key": ctx.key})
        self._raise(response, ctx.now())
        status = response.json() or {}
        if not status.get("id"):
            raise Rejected(f"mastodon answered {response.status_code} without a status id")
        return Published(str(status["id"]), status.get("url") or status.get("uri"))

    async def check(self, client) -> str:
        self.require_settings()
        try:
            response = await send(client, "GET", self.base_url() + "/api/v1/accounts/verify_credentials",
                                  what="mastodon credentials check", headers=self.headers())
        except Retryable as exc:
            raise self.check_failed(str(exc), f"check {self.channel.var('URL')}") from None
        self.check_answer(response, platform="mastodon", auth_fix=f"check {self.channel.var('ACCESS_TOKEN')}",
                          other_fix=f"check {self.channel.var('URL')}")
        account = response.json() or {}
        host = self.base_url().split("//", 1)[-1]
        return f"@{account.get('acct') or account.get('username', '?')} on {host}"


def _ready(response) -> bool:
    if response.status_code != 200:
        return False
    try:
        return bool((response.json() or {}).get("url"))
    except ValueError:
        return False


RULES = MastodonRules
SENDER = MastodonSender
