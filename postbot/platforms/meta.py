"""Meta's Graph API, shared by Facebook, Threads and Instagram: the error object and throttling codes
mapped to outcomes, the token in the form body (never in a URL), and the two-step container publishing
(create, poll, publish) that Threads and Instagram build on.

The container id is saved (`ctx.save_progress`) before anything can be published, which makes
the container platforms recoverable: `GET /{container}?fields=status,id` says whether that container was
PUBLISHED, so a retry or a recovery after a crash polls the saved container instead of
creating a second one, and a published one is never published again.

A new container is usually ready within seconds, so its status is polled inside the same
attempt, after 1, 2, 4 and 8 s (15 s at most, through the injected `ctx.sleep`), and it is
published as soon as it is FINISHED: a container that needs 2 s goes out about 3 s after it
was due. Only one still IN_PROGRESS after that becomes a retry in 30 s, which polls the same
container again. ERROR and EXPIRED are reported with Meta's own words.

Threads and Instagram long-lived tokens last 60 days and renew themselves (GET /refresh_access_token
with th_refresh_token / ig_refresh_token): within 7 days of the expiry postbot renews the token before
publishing (and when `status` checks it) and keeps the new one in the store (lifetime.KeptToken).
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from postbot.errors import ConfigError, PublishError, RateLimited, Rejected, Retryable, unsent
from postbot.models import Published
from postbot.platforms.base import CheckResult, PublishContext, Sender
from postbot.platforms.lifetime import KeptToken
from postbot.platforms.outcomes import json_object, raise_for_status, send

log = logging.getLogger("postbot.platforms.meta")

TOKEN_CODES = {190, 102}                    # token invalid or expired: nothing but a new token helps
TRANSIENT_CODES = {1, 2}
THROTTLE_CODES = {4, 17, 32, 613, 80001}
THROTTLE_FALLBACK = timedelta(hours=1)
POLL_DELAYS = (1.0, 2.0, 4.0, 8.0)      # seconds between status reads inside one attempt: 15 s in all
READY_WAIT = timedelta(seconds=30)      # then a retry, on the same container
RECENT_MEDIA = 25


# ---- the Graph API's conventions ----------------------------------------------------------------
def graph_error(response) -> dict[str, Any] | None:
    error = json_object(response).get("error")
    return error if isinstance(error, dict) else None


def graph_message(error: dict[str, Any]) -> str:
    code, subcode = error.get("code"), error.get("error_subcode")
    words = error.get("error_user_msg") or error.get("message") or "no message"
    return f"error {code}{f'/{subcode}' if subcode else ''}: {words}"


def regain_access_at(response, now: datetime) -> datetime | None:
    """`X-Business-Use-Case-Usage` says, per business, how many minutes until calls are allowed again."""
    raw = response.headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [entry.get("estimated_time_to_regain_access") for entries in
               (usage.values() if isinstance(usage, dict) else []) if isinstance(entries, list)
               for entry in entries if isinstance(entry, dict)]
    waits = [m for m in minutes if isinstance(m, (int, float)) and m > 0]
    return now + timedelta(minutes=max(waits)) if waits else None


def raise_for_graph(response, *, platform: str, now: datetime, token_var: str, sent: bool = True) -> None:
    """Map a Graph API error object to the outcome tree. `sent=False` for steps that cannot post
    anything (creating or reading a container), so a failure there is always safe to retry."""
    status = response.status_code
    if status < 300:
        return
    error = graph_error(response)
    if error is None:
        try:
            raise_for_status(response, platform=platform, now=now)
        except PublishError as exc:
            raise exc if sent else unsent(exc)
        return
    code = error.get("code")
    message = f"{platform} answered {status}, {graph_message(error)}"
    if code in TOKEN_CODES:
        raise Rejected(f"{message}; the token in {token_var} is invalid or expired: create a new one "
                       f"and set {token_var}", status=status)
    if code in THROTTLE_CODES:
        until = regain_access_at(response, now) or now + THROTTLE_FALLBACK
        raise RateLimited(message, until=until, status=status)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or status >= 500:
        raise Retryable(message, status=status, sent=sent)
    raise Rejected(message, status=status)


def graph_root(api_url: str) -> str:
    """The host's root of a versioned API address: refresh_access_token and the OAuth endpoints live there."""
    return re.sub(r"/v\d+(\.\d+)?$", "", api_url.rstrip("/"))


def bearer(token: str | None) -> dict[str, str]:
    """GETs carry the token in a header: a token in a URL ends up in proxy and server logs."""
    return {"Authorization": f"Bearer {token}"}


def graph_check(response, *, platform: str, token_fix: str, id_var: str) -> None:
    """A credentials check's answer: a bad token or object id is a ConfigError naming the setting."""
    if response.status_code < 300:
        return
    error = graph_error(response) or {}
    detail = graph_message(error) if error else f"HTTP {response.status_code}"
    if error.get("code") in TOKEN_CODES or response.status_code == 401:
        raise ConfigError(f"{platform} {detail}; {token_fix}")
    if error.get("code") == 100:
        raise ConfigError(f"{platform} {detail}; check {id_var}")
    raise ConfigError(f"{platform} {detail}")


# ---- containers: create, poll, publish ------------------------------------------------------------
class ContainerSender(Sender):
    """Meta's two-step publishing: container, status, publish; the container id is the memory."""

    required = ("USER_ID", "ACCESS_TOKEN")
    label = ""
    default_api_url = ""
    create_edge = ""            # POST /{user-id}/<edge> creates a container
    publish_edge = ""           # POST /{user-id}/<edge> publishes it
    status_field = ""           # the container's status field
    status_fields = ""          # what to read with it (the error's details differ per platform)
    text_field = ""             # where the media object keeps our text
    progress_key = "container"
    refresh_grant = ""          # th_refresh_token / ig_refresh_token: the long-lived token renews itself

    def container_form(self, payload: dict[str, Any]) -> dict[str, str]:
        """The payload as the form that creates the container (empty values left out)."""
        return {key: str(value) for key, value in payload.items() if value not in (None, "")}

    # ---- plumbing ------------------------------------------------------------------------
    def api_url(self) -> str:
        return self.channel.setting("API_URL", self.default_api_url).rstrip("/")

    def user_id(self) -> str:
        return self.channel.setting("USER_ID") or ""

    def lifetime(self) -> KeptToken:
        return KeptToken(self.channel, self.state)

    def token(self) -> str:
        """The newest token: the one renewed into the store, else the configured one."""
        return self.lifetime().current()

    def token_fix(self) -> str:
        return (f"run `postbot connect {self.kind} --name {self.channel.name}` (or create a new long-lived "
                f"{self.label} token, set {self.token_var()} and {self.channel.var('TOKEN_EXPIRES_AT')} (its expiry), "
                f"then run `postbot status`)")

    def root_url(self) -> str:
        """The API host's root, where refresh_access_token and the OAuth endpoints live."""
        return graph_root(self.api_url())

    def refresh_url(self) -> str:
        return self.root_url() + "/refresh_access_token"

    async def renew(self, client, now: datetime) -> None:
        """Renew a long-lived token within RENEW_AHEAD of its known expiry and keep the new one; an
        expired token fails (nothing can renew it). A failed renewal of a still valid token only warns:
        the next publish or status tries again."""
        life = self.lifetime()
        if life.expired(now):
            raise Rejected(f"the {self.label} token expired on {life.expires_at().date().isoformat()}; "
                           f"{self.token_fix()}", sent=False)
        if not self.refresh_grant or not life.due(now):
            return
        try:
            response = await send(client, "GET", self.refresh_url(), what=f"{self.label} token renewal",
                                  params={"grant_type": self.refresh_grant}, headers=bearer(life.current()))
        except PublishError as exc:
            log.warning("%s channel %s: could not renew the token (%s); it is valid until %s",
                        self.label, self.channel.name, exc, life.expires_at().isoformat())
            return
        error = graph_error(response)
        if response.status_code != 200 or error:
            if error and error.get("code") in TOKEN_CODES:
                raise Rejected(f"{self.label} refused to renew the token ({graph_message(error)}); "
                               f"{self.token_fix()}", sent=False)
            log.warning("%s channel %s: token renewal answered %s; the token is valid until %s",
                        self.label, self.channel.name, response.status_code, life.expires_at().isoformat())
            return
        answer = json_object(response)
        if not answer.get("access_token"):
            log.warning("%s channel %s: token renewal answered without a token", self.label, self.channel.name)
            return
        life.keep(str(answer["access_token"]), answer.get("expires_in"), now)
        log.info("%s channel %s: token renewed, valid until %s", self.label, self.channel.name,
                 life.expires_at().isoformat() if life.expires_at() else "unknown")

    def token_var(self) -> str:
        return self.channel.var("ACCESS_TOKEN")

    async def _post(self, ctx: PublishContext, edge: str, form: dict[str, str], *, what: str, sent: bool):
        try:
            response = await send(ctx.client, "POST", f"{self.api_url()}/{self.user_id()}/{edge}", what=what,
                                  data={**form, "access_token": self.token()})
        except Retryable as exc:
            raise exc if sent else unsent(exc)
        self._raise(response, ctx, sent=sent)
        return response.json()

    async def _get(self, ctx: PublishContext, object_id: str, fields: str, *, what: str,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = await send(ctx.client, "GET", f"{self.api_url()}/{object_id}", what=what,
                                  params={"fields": fields, **(params or {})}, headers=bearer(self.token()))
        except Retryable as exc:
            raise unsent(exc)           # reading never posts anything
        self._raise(response, ctx, sent=False)
        return response.json()

    def _raise(self, response, ctx: PublishContext, *, sent: bool) -> None:
        raise_for_graph(response, platform=self.label, now=ctx.now(), token_var=self.token_var(), sent=sent)

    def _not_ready(self, ctx: PublishContext, container: str) -> Retryable:
        return Retryable(f"{self.label} container {container} is still being processed after "
                         f"{sum(POLL_DELAYS):.0f} s; polling it again in {int(READY_WAIT.total_seconds())} s",
                         after=ctx.now() + READY_WAIT, sent=False)

    async def until_processed(self, ctx: PublishContext, container: str, state: dict[str, Any]) -> dict[str, Any]:
        """Poll an IN_PROGRESS container after each of POLL_DELAYS; the state once it is not."""
        for delay in POLL_DELAYS:
            if state.get(self.status_field) != "IN_PROGRESS":
                break
            await ctx.sleep(delay)
            state = await self.status(ctx, container)
        return state

    async def status(self, ctx: PublishContext, container: str) -> dict[str, Any]:
        return await self._get(ctx, container, self.status_fields, what=f"{self.label} container status")

    # ---- publishing ----------------------------------------------------------------------
    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
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
        state = await self.until_processed(ctx, container, state)
        status = state.get(self.status_field)
        if status == "PUBLISHED":
            return await self.landed(ctx, container, payload)
        if status == "IN_PROGRESS":
            raise self._not_ready(ctx, container)
        if status in ("ERROR", "EXPIRED"):
            raise Rejected(f"{self.label} could not process container {container} ({status}): "
                           f"{self.error_detail(state) or 'no error text'}")
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
        self.require_settings()
        now = datetime.now(timezone.utc)
        try:
            await self.renew(client, now)       # status keeps the token alive too
        except Rejected as exc:
            raise self.check_failed(str(exc)) from None
        response = await send(client, "GET", f"{self.api_url()}/{self.user_id()}", what=f"{self.label} account",
                              params={"fields": "id,username"}, headers=bearer(self.token()))
        graph_check(response, platform=self.label, token_fix=self.token_fix(), id_var=self.channel.var("USER_ID"))
        answer = response.json()
        expiry, warnings = self.lifetime().describe(now)
        summary = f"@{answer.get('username')} ({answer.get('id')})" + (f", {expiry}" if expiry else "")
        return CheckResult(summary, [f"{warning}; postbot renews it before then" if self.refresh_grant
                                     else f"{warning}; {self.token_fix()}" for warning in warnings])
