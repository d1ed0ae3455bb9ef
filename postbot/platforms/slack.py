"""Slack incoming webhooks: mrkdwn text with & < > escaped and <url|label> links, posted to the hook.

A webhook answers 200 `ok` and nothing else: there is no message id, so the
delivery's own idempotency key stands in as `remote_id` and there is no URL.
Errors come back as plain-text codes (`invalid_payload`, `channel_is_archived`, …).

`check()` cannot call Slack: a webhook has no read endpoint and a test POST would
post a message. It validates the URL's shape and says that it did only that.
"""
from __future__ import annotations

import re
from typing import Any

from postbot import text as textlib
from postbot.errors import Ambiguous, PublishError, Rejected
from postbot.models import Post, Published
from postbot.platforms.base import Prepared, PublishContext, Rules, Sender, labelled_links
from postbot.platforms.media import is_remote
from postbot.platforms.outcomes import raise_for_status, send

_LINK = re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>")
_HOOK_PATH = re.compile(r"^/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+/?$")
SECTION_LIMIT = 3000

# What each documented error code means for the person running postbot.
RECREATE = "re-create the incoming webhook in Slack and update {var}"
FIXES = {
    "invalid_payload": "the message was malformed; report it with `postbot preview --json` output",
    "no_text": "the message had no text; check the slack template",
    "too_many_attachments": "the message had too many attachments",
    "channel_not_found": "the webhook's channel no longer exists; " + RECREATE,
    "channel_is_archived": "the webhook's channel was archived; unarchive it or " + RECREATE,
    "no_service": "the webhook was removed or disabled; " + RECREATE,
    "no_service_id": "the webhook URL is incomplete; " + RECREATE,
    "no_team": "the workspace is gone; " + RECREATE,
    "no_active_hooks": "the webhook was disabled; " + RECREATE,
    "invalid_token": "the webhook's secret is no longer valid; " + RECREATE,
    "action_prohibited": "a workspace admin blocked posting to this channel; ask them, or " + RECREATE,
    "posting_to_general_channel_denied": "only admins may post to this channel; pick another channel and "
                                         + RECREATE,
    "team_disabled": "the workspace was disabled",
}


def escape_mrkdwn(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def _unescape(text: str) -> str:
    """Slack's three escapes undone: what a reader sees."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackRules(Rules):
    platform = "slack"
    label = "Slack"
    color = "#4a154b"
    limit = 40000
    all_ctas = True
    teaser_max = 700

    def escape(self, value: str) -> str:
        return escape_mrkdwn(value)

    def link(self, url: str, label: str | None = None) -> str:
        target = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        if not label:
            return f"<{target}>"
        return f"<{target}|{escape_mrkdwn(label).replace('|', '¦')}>"

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        links = [m.group(1).replace("&amp;", "&") for m in _LINK.finditer(rendered)]
        bare = _LINK.sub(" ", rendered)
        links += [u for u in textlib.find_urls(bare) if u not in links]
        return Prepared(rendered, links)

    def measure(self, prepared: Prepared) -> int:
        return len(prepared.text)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": prepared.text}
        if post.image and is_remote(post.image) and len(prepared.text) <= SECTION_LIMIT:
            # Blocks replace the text on screen; `text` stays as the notification fallback.
            payload["blocks"] = [
                {"type": "section", "text": {"type": "mrkdwn", "text": prepared.text}},
                {"type": "image", "image_url": post.image, "alt_text": (post.image_alt or post.title)[:2000]},
            ]
        return payload

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        if post.image and not is_remote(post.image):
            return ["Slack incoming webhooks cannot upload files; the local image is not sent "
                    "(use an https:// image URL to show it)"]
        if post.image and len(prepared.text) > SECTION_LIMIT:
            return [f"the text is over Slack's {SECTION_LIMIT}-character section limit; the image is not sent"]
        return []

    @classmethod
    def visible(cls, text: str) -> str:
        return _unescape(_SLACK_LINK.sub(r"\2 (\1)", text))

    @classmethod
    def visible_links(cls, text: str) -> list[tuple[str, str | None]]:
        # In Slack a <url|label> shows as the label, linked: the URL itself is not in the text.
        return labelled_links(text, _SLACK_LINK, _unescape, _unescape)


class SlackSender(Sender):
    kind = "slack"
    rules_class = SlackRules
    required = ("WEBHOOK_URL",)

    def settings_problem(self) -> str | None:
        return self.url_problem("WEBHOOK_URL", _HOOK_PATH, where="Slack app → Incoming Webhooks → Copy",
                                expected="a Slack incoming webhook URL (expected "
                                         "https://hooks.slack.com/services/T…/B…/…)")

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        self.require_settings()
        response = await send(ctx.client, "POST", self.channel.setting("WEBHOOK_URL"), what="slack webhook",
                              json=payload)
        code = response.text.strip()[:100]
        if response.status_code == 200:
            if code != "ok":
                raise Ambiguous(f"slack answered 200 {code!r} instead of 'ok'; it may or may not have been posted")
            return Published(ctx.key, None)     # webhooks return no id: the delivery's key stands in
        fix = FIXES.get(code, "")
        if response.status_code in (429,) or response.status_code >= 500:
            raise_for_status(response, platform="slack", now=ctx.now())
        var = self.channel.var("WEBHOOK_URL")
        raise Rejected(f"slack answered {response.status_code} {code}" +
                       (f"; {fix.format(var=var)}" if fix else f"; check {var}"), status=response.status_code)

    async def check(self, client) -> str:
        self.require_settings()
        return "webhook URL looks right (not contacted: a Slack webhook can only post)"

    async def probe(self, client) -> str:
        """Ask the webhook without posting: a message with no text. A live webhook answers 400 no_text
        (it checks the URL before the payload); a dead or mistyped one 403/404/410 with its reason."""
        self.require_settings()
        var = self.channel.var("WEBHOOK_URL")
        try:
            response = await send(client, "POST", self.channel.setting("WEBHOOK_URL"), what="slack webhook check",
                                  json={})
        except PublishError as exc:
            raise self.check_failed(str(exc), f"check {var}") from None
        code = response.text.strip()[:100]
        if response.status_code == 400 and code in ("no_text", "invalid_payload"):
            return "webhook answered (nothing was posted)"
        fix = FIXES.get(code, "").format(var=var) or f"check {var}"
        raise self.check_failed(f"slack answered {response.status_code} {code}", fix)


RULES = SlackRules
SENDER = SlackSender
