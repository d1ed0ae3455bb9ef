"""Threads (Meta): create a TEXT container, then threads_publish it.

The container id is saved (`ctx.save_progress`) before anything can be published, which makes
Threads recoverable: `GET /{container}?fields=status,id` says whether that container was
PUBLISHED, so a retry or a recovery after a crash polls the saved container instead of
creating a second one, and a published one is never published again. A container still
IN_PROGRESS is retried in 30 s (Meta recommends waiting before publishing).

Instagram publishes the same two-step way; its publisher subclasses `ContainerPublisher`.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from postbot.errors import ConfigError, PublishError, Rejected, Retryable
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Publisher
from postbot.platforms.facebook import bearer, graph_error, graph_message, raise_for_graph

MAX_LINKS = 5
DEFAULT_API_URL = "https://graph.threads.net/v1.0"
READY_WAIT = timedelta(seconds=30)
RECENT_MEDIA = 25


class ContainerPublisher(Publisher):
    """Meta's two-step publishing: container, status, publish; the container id is the memory."""

    can_lookup = True
    required = ("USER_ID", "ACCESS_TOKEN")
    label = ""
    default_api_url = ""
    create_edge = ""            # POST /{user-id}/<edge> creates a container
    publish_edge = ""           # POST /{user-id}/<edge> publishes it
    status_field = ""           # the container's status field
    status_fields = ""          # what to read with it (the error's details differ per platform)
    text_field = ""             # where the media object keeps our text
    progress_key = "container"

    # ---- what each platform fills in -----------------------------------------------------
    def container_form(self, payload: dict[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    # ---- plumbing ------------------------------------------------------------------------
    def api_url(self) -> str:
        return self.channel.setting("API_URL", self.default_api_url).rstrip("/")

    def user_id(self) -> str:
        return self.channel.setting("USER_ID") or ""

    def token(self) -> str:
        return self.channel.setting("ACCESS_TOKEN") or ""

    def token_var(self) -> str:
        return self.channel.var("ACCESS_TOKEN")

    async def _post(self, ctx: PublishContext, edge: str, form: dict[str, str], *, what: str, sent: bool):
        from postbot.platforms.outcomes import send

        try:
            response = await send(ctx.client, "POST", f"{self.api_url()}/{self.user_id()}/{edge}", what=what,
                                  data={**form, "access_token": self.token()})
        except Retryable as exc:
            exc.sent = exc.sent and sent
            raise
        self._raise(response, ctx, sent=sent)
        return response.json()

    async def _get(self, ctx: PublishContext, object_id: str, fields: str, *, what: str,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        from postbot.platforms.outcomes import send

        try:
            response = await send(ctx.client, "GET", f"{self.api_url()}/{object_id}", what=what,
                                  params={"fields": fields, **(params or {})}, headers=bearer(self.token()))
        except Retryable as exc:
            exc.sent = False            # reading never posts anything
            raise
        self._raise(response, ctx, sent=False)
        return response.json()

    def _raise(self, response, ctx: PublishContext, *, sent: bool) -> None:
        raise_for_graph(response, platform=self.label, now=ctx.now(), token_var=self.token_var(), sent=sent)

    def _not_ready(self, ctx: PublishContext, container: str) -> Retryable:
        return Retryable(f"{self.label} container {container} is still being processed; publishing it "
                         f"in {int(READY_WAIT.total_seconds())} s", after=ctx.now() + READY_WAIT, sent=False)

    async def status(self, ctx: PublishContext, container: str) -> dict[str, Any]:
        return await self._get(ctx, container, self.status_fields, what=f"{self.label} container status")

    # ---- publishing ----------------------------------------------------------------------
    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        missing = self.missing_settings()
        if missing:
            raise Rejected(f"channel {self.channel.name}: set {' and '.join(missing)}")
        container = ctx.progress.get(self.progress_key)
        state: dict[str, Any] | None = None
        if container:
            state = await self.status(ctx, container)
            if state.get(self.status_field) == "EXPIRED":
                container, state = None, None       # never published; start over
        if not container:
            created = await self._post(ctx, self.create_edge, self.container_form(payload),
                                       what=f"{self.label} container", sent=False)
            container = str(created["id"])
            ctx.save_progress({self.progress_key: container})
            state = await self.status(ctx, container)
        assert state is not None
        status = state.get(self.status_field)
        if status == "PUBLISHED":
            return await self.landed(ctx, container, payload)
        if status == "IN_PROGRESS":
            raise self._not_ready(ctx, container)
        if status in ("ERROR", "EXPIRED"):
            raise Rejected(f"{self.label} could not process container {container}: "
                           f"{self.error_detail(state) or status}")
        try:
            answer = await self._post(ctx, self.publish_edge, {"creation_id": container},
                                      what=f"{self.label} publish", sent=True)
        except Retryable as exc:
            if not exc.sent:
                raise
            found = await self._lookup_after_failure(ctx, container, payload)
            if found is None:
                raise
            return found
        return await self.with_permalink(ctx, str(answer["id"]))

    async def _lookup_after_failure(self, ctx: PublishContext, container: str,
                                    payload: dict[str, Any]) -> Published | None:
        """The publish call broke mid-way: the container's status tells whether it went out."""
        try:
            state = await self.status(ctx, container)
        except PublishError:
            return None
        if state.get(self.status_field) == "PUBLISHED":
            return await self.landed(ctx, container, payload)
        return None

    async def landed(self, ctx: PublishContext, container: str, payload: dict[str, Any]) -> Published:
        """A container that is PUBLISHED: find the media object it became among the latest posts.
        If it cannot be found, it is still published: record the container id."""
        wanted = (self.container_form(payload).get(self.text_field) or "").strip()
        try:
            listing = await self._get(ctx, f"{self.user_id()}/{self.create_edge_listing()}",
                                      f"id,{self.text_field},permalink", what=f"{self.label} recent posts",
                                      params={"limit": str(RECENT_MEDIA)})
        except PublishError:
            listing = {}
        for item in listing.get("data") or []:
            if isinstance(item, dict) and (item.get(self.text_field) or "").strip() == wanted and wanted:
                return Published(str(item["id"]), item.get("permalink"), {"container": container})
        return Published(container, None, {"container": container,
                                           "note": f"{self.label} says container {container} was published; "
                                                   f"its post was not found among the latest {RECENT_MEDIA}"})

    def error_detail(self, state: dict[str, Any]) -> str | None:
        return state.get("error_message")

    def create_edge_listing(self) -> str:
        return self.create_edge

    async def with_permalink(self, ctx: PublishContext, media_id: str) -> Published:
        """The post is out: a failing permalink lookup must not turn that into a failure."""
        try:
            answer = await self._get(ctx, media_id, "permalink", what=f"{self.label} permalink")
        except PublishError:
            return Published(media_id)
        return Published(media_id, answer.get("permalink"))

    async def recover(self, payload: dict[str, Any], ctx: PublishContext) -> Published | None:
        """After a crash mid-publish: only `publish_edge` posts, and only a saved container can
        have been published, so no container means nothing went out."""
        container = ctx.progress.get(self.progress_key)
        if not container:
            return None
        state = await self.status(ctx, container)
        if state.get(self.status_field) == "PUBLISHED":
            return await self.landed(ctx, container, payload)
        return None

    async def check(self, client) -> str:
        from postbot.platforms.outcomes import send

        missing = self.missing_settings()
        if missing:
            raise ConfigError(f"channel {self.channel.name}: set {' and '.join(missing)}")
        response = await send(client, "GET", f"{self.api_url()}/{self.user_id()}", what=f"{self.label} account",
                              params={"fields": "id,username"}, headers=bearer(self.token()))
        if response.status_code >= 300:
            error = graph_error(response) or {}
            detail = graph_message(error) if error else f"HTTP {response.status_code}"
            if error.get("code") in (190, 102) or response.status_code == 401:
                raise ConfigError(f"{self.label} {detail}; set {self.token_var()} to a valid access token")
            if error.get("code") == 100:
                raise ConfigError(f"{self.label} {detail}; check {self.channel.var('USER_ID')}")
            raise ConfigError(f"{self.label} {detail}")
        answer = response.json()
        return f"@{answer.get('username')} ({answer.get('id')})"


class ThreadsPublisher(ContainerPublisher):
    platform = "threads"
    limit = 500
    label = "Threads"
    default_api_url = DEFAULT_API_URL
    create_edge = "threads"
    publish_edge = "threads_publish"
    status_field = "status"
    status_fields = "status,id,error_message"
    text_field = "text"
    progress_key = "threads_container"

    def measure(self, prepared: Prepared) -> int:
        from postbot import text as textlib
        return textlib.threads_length(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        distinct = len(set(prepared.links))
        return [f"{distinct} distinct links, Threads allows {MAX_LINKS}"] if distinct > MAX_LINKS else []

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"media_type": "TEXT", "text": prepared.text}
        links = set(prepared.links)
        # The preview card's link may count toward the 5 distinct links: never let it be the sixth.
        if post.url and (post.url in links or len(links) < MAX_LINKS):
            payload["link_attachment"] = post.url
        return payload

    def container_form(self, payload: dict[str, Any]) -> dict[str, str]:
        return {key: str(value) for key, value in payload.items() if value not in (None, "")}


PUBLISHER = ThreadsPublisher
