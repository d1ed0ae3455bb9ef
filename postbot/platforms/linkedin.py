"""LinkedIn Posts API: commentary escaped as little text with an article card; POST /rest/posts.

POST {LINKEDIN_API_URL}/rest/posts with `LinkedIn-Version: YYYYMM` and
`X-Restli-Protocol-Version: 2.0.0`; the new post's URN comes back in the `x-restli-id` header.

Escaping: only `commentary` is little text (the little-text format page); every reserved
character in it is escaped, inside URLs too, because an unescaped one makes LinkedIn cut the
post there while still answering 201. The article's title and description are plain strings:
they are sent unescaped, since a needless backslash would be shown to readers on the card.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from postbot import text as textlib
from postbot.errors import ConfigError, RateLimited, Rejected
from postbot.models import Post, Published
from postbot.platforms.base import CheckResult, Prepared, PublishContext, Rules, Sender, collapsed_start, word_fold
from postbot.platforms.lifetime import KeptToken, parse_expiry
from postbot.platforms.outcomes import error_message, json_object, raise_for_status, retry_after, send

UTC = timezone.utc
log = logging.getLogger("postbot.platforms.linkedin")

# Little-text reserved characters. Unescaped, LinkedIn silently truncates the post there.
RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
AUTHOR_URN = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
VERSION = re.compile(r"^(\d{4})(0[1-9]|1[0-2])(\.\d{2})?$")
POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")
DEFAULT_VERSION = "202611"
DEFAULT_API_URL = "https://api.linkedin.com"
DEFAULT_OAUTH_URL = "https://www.linkedin.com/oauth/v2"
DESCRIPTION_MAX = 200
# LinkedIn sunsets a version about a year after release; warn two months ahead.
VERSION_WARN_MONTHS = 10


def escape_little_text(value: str) -> str:
    return RESERVED.sub(r"\\\1", value)


def hashtags_live(escaped: str) -> str:
    """Unescape the '#' of each hashtag (a '#' after a space or at a line start, before a letter,
    mark, digit or '_'): little text's HashtagElement is a bare '#word', while an escaped '\\#'
    shows as plain text. A '#' inside a URL follows no space and stays escaped."""
    import regex
    return regex.sub(r"(?:^|(?<=[\s(]))\\#(?=[\p{L}\p{M}\p{Nd}_])", "#", escaped, flags=regex.MULTILINE)


def unescape_little_text(value: str) -> str:
    return re.sub(r"\\([\\|{}@\[\]()<>#*_~])", r"\1", value)


def next_midnight_utc(now: datetime) -> datetime:
    """LinkedIn's daily application and member limits reset at 00:00 UTC."""
    today = now.astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def months_between(version: str, now: datetime) -> int:
    match = VERSION.match(version)
    assert match, version
    return (now.year * 12 + now.month) - (int(match.group(1)) * 12 + int(match.group(2)))


def plain_description(post: Post) -> str:
    """A card description: the teaser (or the body's start) cut at a word, not mid-word."""
    source = collapsed_start(post.teaser or post.body or "", DESCRIPTION_MAX)
    if len(source) <= DESCRIPTION_MAX:
        return source
    cut = source.rfind(" ", 0, DESCRIPTION_MAX - 1)
    return source[:cut if cut > 0 else DESCRIPTION_MAX - 1].rstrip(" ,;:-") + "…"


class LinkedInRules(Rules):
    platform = "linkedin"
    label = "LinkedIn"
    color = "#0a66c2"
    limit = 3000
    fold = 210
    all_ctas = True
    teaser_max = 1300

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        return Prepared(hashtags_live(escape_little_text(rendered)), textlib.find_urls(rendered))

    def measure(self, prepared: Prepared) -> int:
        # The limit's unit is undocumented; UTF-16 units of the escaped text is the strictest reading.
        return textlib.utf16_len(prepared.text)

    def fold_index(self, prepared: Prepared) -> int | None:
        shown = unescape_little_text(prepared.text)
        if len(shown) <= self.fold:
            return None
        # Map the fold from what members see back into the escaped text: a '\\' and the char
        # after it show as one; plain chars are skipped a stretch at a time.
        text, index, count = prepared.text, 0, 0
        while index < len(text) and count < self.fold:
            escape = text.find("\\", index, index + self.fold - count)
            if escape < 0:
                step = min(self.fold - count, len(text) - index)
                index, count = index + step, count + step
            else:
                index, count = escape + 2, count + escape - index + 1
        return word_fold(text, index)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "author": self.channel.setting("AUTHOR", "urn:li:person:UNSET"),
            "commentary": prepared.text,
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.url:
            # Posts API does not scrape links: the card is what we send.
            article: dict[str, Any] = {"source": post.url, "title": post.title}
            description = plain_description(post)
            if description:
                article["description"] = description
            payload["content"] = {"article": article}
        return payload

    @classmethod
    def visible(cls, text: str) -> str:
        return unescape_little_text(text)

    @classmethod
    def visible_fold(cls, text: str, fold: int) -> int:
        return len(unescape_little_text(text[:fold]))

    def refuse(self, post: Post) -> str | None:
        problems = settings_problems(self.channel)
        return "; ".join(problems) if problems else None


def version(channel) -> str:
    return channel.setting("VERSION", DEFAULT_VERSION).strip()


def token_expiry(channel) -> datetime | None:
    return parse_expiry(channel.setting("TOKEN_EXPIRES_AT"))


def settings_problems(channel) -> list[str]:
    """Malformed author, version or expiry settings, each naming its variable and the fix."""
    problems = []
    author = channel.setting("AUTHOR")
    if author and not AUTHOR_URN.match(author):
        problems.append(f"{channel.var('AUTHOR')}={author!r} is not a LinkedIn author URN; use "
                        f"urn:li:person:<id> (your member id, the 'sub' of /v2/userinfo) or "
                        f"urn:li:organization:<id> (the number in your company page's admin URL)")
    if not VERSION.match(version(channel)):
        problems.append(f"{channel.var('VERSION')}={version(channel)!r} is not a LinkedIn API version; "
                        f"use YYYYMM, e.g. {DEFAULT_VERSION}")
    expires = channel.setting("TOKEN_EXPIRES_AT")
    if expires and token_expiry(channel) is None:
        problems.append(f"{channel.var('TOKEN_EXPIRES_AT')}={expires!r} is not a date; "
                        f"use YYYY-MM-DD, e.g. 2027-01-25")
    return problems


class LinkedInSender(Sender):
    kind = "linkedin"
    rules_class = LinkedInRules
    required = ("ACCESS_TOKEN", "AUTHOR")

    def settings_problem(self) -> str | None:
        # A bad expiry date only spoils a warning; a bad author or version spoils the post.
        problems = [f"set {var}" for var in self.missing_settings()]
        problems += [p for p in settings_problems(self.channel) if "TOKEN_EXPIRES_AT" not in p]
        return "; ".join(problems) if problems else None

    def version(self) -> str:
        return version(self.channel)

    def lifetime(self) -> KeptToken:
        return KeptToken(self.channel, self.state)

    def token(self) -> str:
        """The newest token: the one renewed into the store, else <NAME>_ACCESS_TOKEN."""
        return self.lifetime().current()

    def oauth_url(self) -> str:
        return self.channel.setting("OAUTH_URL", DEFAULT_OAUTH_URL).rstrip("/")

    def refresh_token(self) -> str | None:
        """What renews the token: the one kept with the last renewal, else <NAME>_REFRESH_TOKEN."""
        return self.lifetime().kept_extra("refresh_token") or self.channel.setting("REFRESH_TOKEN")

    async def renew(self, client, now: datetime) -> None:
        """With <NAME>_REFRESH_TOKEN (LinkedIn grants one to apps it approved for it), renew the access
        token within RENEW_AHEAD of its expiry, or once it expired, and keep the new one in the store.
        Without one nothing can renew it: an expired token fails here, saying how to reconnect."""
        life = self.lifetime()
        refresh = self.refresh_token()
        if not refresh:
            if life.expired(now):
                raise Rejected(f"the LinkedIn token expired on {life.expires_at().date().isoformat()}; "
                               f"{self.auth_fix()}", sent=False)
            return
        if not (life.due(now) or life.expired(now)):
            return
        missing = [self.channel.var(key) for key in ("CLIENT_ID", "CLIENT_SECRET") if not self.channel.setting(key)]
        if missing:
            raise ConfigError(f"channel {self.channel.name}: set {' and '.join(missing)} to renew the LinkedIn "
                              f"token with {self.channel.var('REFRESH_TOKEN')}")
        response = await send(client, "POST", f"{self.oauth_url()}/accessToken", what="LinkedIn token renewal",
                              data={"grant_type": "refresh_token", "refresh_token": refresh,
                                    "client_id": self.channel.setting("CLIENT_ID") or "",
                                    "client_secret": self.channel.setting("CLIENT_SECRET") or ""})
        answer = json_object(response)
        if response.status_code != 200 or not answer.get("access_token"):
            detail = answer.get("error_description") or answer.get("error") or error_message(response)
            if life.expired(now) or response.status_code in (400, 401):
                raise Rejected(f"LinkedIn refused to renew the token ({response.status_code}: {detail}); "
                               f"{self.auth_fix()}", sent=False)
            log.warning("linkedin channel %s: token renewal answered %s; the token is valid until %s",
                        self.channel.name, response.status_code, life.expires_at().isoformat())
            return
        life.keep(str(answer["access_token"]), answer.get("expires_in"), now,
                  refresh_token=answer.get("refresh_token") or refresh)
        log.info("linkedin channel %s: token renewed, valid until %s", self.channel.name,
                 life.expires_at().isoformat() if life.expires_at() else "unknown")

    def api_url(self) -> str:
        return self.channel.setting("API_URL", DEFAULT_API_URL).rstrip("/")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}",
                "LinkedIn-Version": self.version(), "X-Restli-Protocol-Version": "2.0.0"}

    def token_fix(self) -> str:
        return (f"run `postbot connect linkedin --name {self.channel.name}` (or create a new token and set "
                f"{self.channel.var('ACCESS_TOKEN')} and {self.channel.var('TOKEN_EXPIRES_AT')})")

    def auth_fix(self) -> str:
        """What a refused token means and how to fix it."""
        return (f"the token in {self.channel.var('ACCESS_TOKEN')} is expired or revoked (member tokens last 60 days); "
                f"{self.token_fix()}")

    def version_fix(self) -> str:
        return (f"LinkedIn no longer accepts API version {self.version()}; set {self.channel.var('VERSION')} "
                f"to a current YYYYMM version (versions are retired about a year after release)")

    # ---- publishing --------------------------------------------------------------------
    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:

        self.require_settings()
        body = dict(payload, author=self.channel.setting("AUTHOR"))
        response = await send(ctx.client, "POST", f"{self.api_url()}/rest/posts", what="LinkedIn post",
                              json=body, headers=self.headers())
        now = ctx.now()
        if response.status_code == 422 and _error_code(response) == "DUPLICATE_POST":
            return self._duplicate(response)
        if response.status_code == 426 or _error_code(response) == "NONEXISTENT_VERSION":
            raise Rejected(f"LinkedIn answered {response.status_code}: {error_message(response)}; "
                           f"{self.version_fix()}", status=response.status_code)
        if response.status_code == 401:
            raise Rejected(f"LinkedIn answered 401: {error_message(response)}; {self.auth_fix()}", status=401)
        if response.status_code == 429:
            until = retry_after(response.headers.get("retry-after"), now) or next_midnight_utc(now)
            raise RateLimited(f"LinkedIn answered 429: {error_message(response)} (daily limits reset at "
                              f"00:00 UTC)", until=max(until, now))
        raise_for_status(response, platform="LinkedIn", now=now)
        urn = response.headers.get("x-restli-id") or ""
        if not urn:
            # 201 without the header: posted, but we cannot say where.
            return Published(remote_id="unknown-urn", extra={"note": "LinkedIn returned no x-restli-id"})
        return Published(remote_id=urn, remote_url=f"https://www.linkedin.com/feed/update/{urn}/")

    def _duplicate(self, response) -> Published:
        """LinkedIn refuses a commentary it already has: the post is out, so this delivery is done."""
        original = POST_URN.search(error_message(response))
        note = ("LinkedIn rejected the post as a duplicate of an earlier one (422 DUPLICATE_POST); "
                "treated as already published")
        log.warning(
            "channel %s: %s%s", self.channel.name, note, f" ({original.group(0)})" if original else "")
        if original:
            urn = original.group(0)
            return Published(remote_id=urn, remote_url=f"https://www.linkedin.com/feed/update/{urn}/",
                             extra={"note": note, "duplicate": True})
        return Published(remote_id="duplicate", extra={"note": note, "duplicate": True})

    async def check(self, client, now: datetime | None = None) -> str:
        """GET /v2/userinfo: cheap, needs only a valid token. A token without the `openid` scope
        gets 403 there, which still proves the token is accepted."""

        now = now or datetime.now(UTC)
        self.require_settings()
        problems = settings_problems(self.channel)
        if problems:
            raise self.check_failed("; ".join(problems))
        try:
            await self.renew(client, now)       # status keeps the token alive too
        except (Rejected, ConfigError) as exc:
            raise self.check_failed(str(exc).removeprefix(f"channel {self.channel.name}: ")) from None
        response = await send(client, "GET", f"{self.api_url()}/v2/userinfo", what="LinkedIn userinfo",
                              headers={"Authorization": f"Bearer {self.token()}"})
        if response.status_code == 403:
            who = "token accepted (no openid scope to show the member's name)"
        elif response.status_code >= 300:
            self.check_answer(response, platform="LinkedIn", auth_fix=self.auth_fix(),
                              other_fix=f"check {self.channel.var('API_URL')}")
        else:
            answer = response.json()
            who = f"signed in as {answer.get('name') or answer.get('sub')}"
        # renew() above refused an expired token, so the expiry is ahead: a warning within RENEW_AHEAD of it
        expiry, expiring = self.lifetime().describe(now)
        then = "postbot renews it with the refresh token" if self.refresh_token() else self.token_fix()
        warnings = self.version_warnings(now) + [f"{warning}; {then} before then" for warning in expiring]
        return CheckResult(f"{who}; posting as {self.channel.setting('AUTHOR')} with API version "
                           f"{self.version()}" + (f"; {expiry}" if expiry else ""), warnings)

    def version_warnings(self, now: datetime) -> list[str]:
        age = months_between(self.version(), now)
        if age < VERSION_WARN_MONTHS:
            return []
        return [f"{self.channel.var('VERSION')}={self.version()} is {age} months old; LinkedIn retires versions "
                f"about 12 months after release; move to a newer YYYYMM version"]


def _error_code(response) -> str | None:
    """LinkedIn puts the code at the top (`code`) or per input error (`errorDetails.inputErrors[].code`)."""
    body = json_object(response)
    if isinstance(body.get("code"), str):
        return body["code"]
    details = body.get("errorDetails")
    if isinstance(details, dict):
        for item in details.get("inputErrors") or []:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                return item["code"]
    return None


RULES = LinkedInRules
SENDER = LinkedInSender
