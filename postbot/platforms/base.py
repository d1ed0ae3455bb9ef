"""What a platform module declares: pure `Rules` for its text and a `Sender` for its HTTP API.

Rules are what render, preview and queue use: escaping, counting, limits, the fold and the exact
payload, computed from the rendered text and the post with no I/O. A Sender sends one payload
with an idempotency key through an injected httpx client, and recovers, checks and refreshes
credentials. It never retries: it returns `Published` or raises a PublishError (a ConfigError
only before any request) and policy.decide() says what happens next. Its one wait is `ctx.sleep`
while the platform processes what was just sent (Meta's containers), bounded and injected.

Rendering must stay import-light: nothing here imports httpx at module level.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Awaitable, Callable, ClassVar
from urllib.parse import urlsplit

from postbot import text as textlib
from postbot.errors import Ambiguous, ConfigError, PublishError, unsent
from postbot.models import Channel, Part, Post, Published
from postbot.platforms import outcomes
from postbot.redact import remember_tokens_in

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from postbot.platforms.lifetime import KeptToken
    from postbot.remote_fetch import FetchPolicy


def _default_policy() -> "FetchPolicy":
    from postbot.remote_fetch import FetchPolicy
    return FetchPolicy()


@dataclass
class Prepared:
    """Template output turned into what the platform receives, plus what counting needs."""

    text: str                                   # exactly what is sent
    links: list[str]                            # every link, as full URLs
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. Bluesky facets, Mastodon's content warning


class ChannelState:
    """Small persistent key/value memory per channel (sessions, renewed tokens, cached instance limits).

    Tokens obtained at run time live here, so every value under a token-like name (accessJwt,
    access_token, refresh_token...) is registered with the redactor as it is written and as a later
    process reads it back: no log line or stored error can show it."""

    def __init__(self, getter: Callable[[str], Any], setter: Callable[[str, Any], None]):
        self._get, self._set = getter, setter

    @classmethod
    def of(cls, store, channel: str) -> "ChannelState":
        """The store's memory for one channel."""
        return cls(lambda key: store.state_get(channel, key),
                   lambda key, value: store.state_set(channel, key, value))

    def get(self, key: str, default: Any = None) -> Any:
        value = self._get(key)
        remember_tokens_in(value, key)
        return default if value is None else value

    def set(self, key: str, value: Any) -> None:
        remember_tokens_in(value, key)
        self._set(key, value)


class MemoryState(ChannelState):
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        super().__init__(self.data.get, self.data.__setitem__)


@dataclass
class PublishContext:
    """What one publish call may use. `key` is stable across retries and restarts."""

    client: "httpx.AsyncClient"
    key: str
    now: Callable[[], datetime]
    state: ChannelState
    save_progress: Callable[[dict[str, Any]], None]     # persists `progress` before a risky request
    progress: dict[str, Any] = field(default_factory=dict)
    part_index: int = 0
    part_count: int = 1
    root: Published | None = None               # first part of a thread
    parent: Published | None = None             # previous part of a thread
    due_at: datetime | None = None
    part: Part = field(default_factory=lambda: Part("", 0, {}))     # the part being sent, as queued
    post: dict[str, Any] = field(default_factory=dict)      # {slug, title, url} of the queued post
    # What remote fetches (images, link cards) may reach; the default refuses non-public addresses.
    fetch_policy: "FetchPolicy" = field(default_factory=lambda: _default_policy())
    # The one wait a sender may make: for a platform to finish processing what was just sent
    # (Meta's containers). Injected by the runner, so tests move a clock instead of sleeping.
    sleep: Callable[[float], Awaitable[None]] = field(default_factory=lambda: _real_sleep)


async def _real_sleep(seconds: float) -> None:
    import asyncio
    await asyncio.sleep(seconds)


class Rules:
    """A platform's text rules: pure, no I/O. `state` holds what a Sender learnt (instance limits)."""

    platform: ClassVar[str] = ""
    label: ClassVar[str] = ""                   # the platform's name as people write it
    color: ClassVar[str] = "#444444"            # the preview card's header
    limit: ClassVar[int] = 0
    fold: ClassVar[int | None] = None           # characters shown before "...see more"
    all_ctas: ClassVar[bool] = False            # room to carry every CTA
    link_in_bio: ClassVar[bool] = False         # links are not clickable; CTAs read 'link in bio'
    supports_threads: ClassVar[bool] = False
    teaser_max: ClassVar[int | None] = None     # a teaser, not the article: cap where the limit is huge
    thread_max_parts: ClassVar[int] = 8

    def __init__(self, channel: Channel, state: ChannelState | None = None):
        self.channel = channel
        self.state = state or MemoryState()

    def escape(self, value: str) -> str:
        """Applied to every value a template prints. Default: printed as is."""
        return value

    def link(self, url: str, label: str | None = None) -> str:
        """How a template writes a link with a label."""
        return f"{label}: {url}" if label else url

    def limit_for(self, post: Post | None = None) -> int:
        """The limit for this post (Telegram captions and Mastodon instances differ)."""
        return self.limit

    def prepare(self, rendered: str, post: Post | None = None) -> Prepared:
        """The text as sent and its links; `post` carries what counts with the text (a content warning)."""
        return Prepared(text=rendered, links=textlib.find_urls(rendered, schemeless=False))

    def measure(self, prepared: Prepared) -> int:
        return textlib.grapheme_len(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        """Rules beyond the length limit (bytes, link counts). Empty when it may be sent."""
        return []

    # ---- counting a text piece by piece (render/pieces.py) -------------------------------------
    def tally(self, piece: str, post: Post | None = None, first: bool = True) -> tuple | None:
        """What measure() and violations() need to know of one piece of a rendered text, for
        platforms whose counting splits before a line feed (the piece after such a split starts
        with it): a text's tally is its pieces' tallies added up, numbers summed and sets joined
        (see add_tallies). `first`: the text's first piece. None: this platform counts whole texts
        only. A platform that returns a tally defines judge() beside it, and tests check that both
        agree with prepare, measure and violations."""
        return None

    def judge(self, tally: tuple) -> tuple[int, list[str]]:
        """(length, problems) of a whole text from its tally: what measure() and violations() say."""
        raise NotImplementedError(f"{type(self).__name__} returns no tally")

    def fold_index(self, prepared: Prepared) -> int | None:
        """Index into prepared.text where the platform folds, if the text is longer than that."""
        if self.fold is None or len(prepared.text) <= self.fold:
            return None
        return word_fold(prepared.text, self.fold)

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        return {"text": prepared.text}

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        return []

    def refuse(self, post: Post) -> str | None:
        """A reason this platform can never take this post (an image it cannot use), checked at queue time."""
        return None

    @classmethod
    def visible(cls, text: str) -> str:
        """What a reader sees of the text as sent: the wire format's markup and escapes removed."""
        return text

    @classmethod
    def visible_fold(cls, text: str, fold: int) -> int:
        """`fold` (an index into the text as sent) as an index into `visible(text)`."""
        return fold

    @classmethod
    def visible_links(cls, text: str) -> list[tuple[str, str | None]]:
        """What a reader sees, as pieces of text and the link each piece is, if it is one (labels
        that are links in the platform's markup: Telegram's <a>, Slack's <url|label>)."""
        return [(cls.visible(text), None)]


def labelled_links(text: str, pattern, visible, url) -> list[tuple[str, str | None]]:
    """Text split around the link markup `pattern` matches (group 1 the target, group 2 the label):
    (what a reader sees, the link it is or None), empty pieces dropped. `visible` turns raw text
    into what is shown, `url` a raw target into the link."""
    pieces: list[tuple[str, str | None]] = []
    last = 0
    for match in pattern.finditer(text):
        pieces.append((visible(text[last:match.start()]), None))
        pieces.append((visible(match.group(2)), url(match.group(1))))
        last = match.end()
    pieces.append((visible(text[last:]), None))
    return [piece for piece in pieces if piece[0]]


def add_tallies(first: tuple, second: tuple) -> tuple:
    """Two pieces' tallies as one: counts summed, sets (distinct links) joined."""
    return tuple(a | b if isinstance(a, frozenset) else a + b for a, b in zip(first, second))


def collapsed_start(text: str, room: int) -> str:
    """`text` with its runs of spaces collapsed, as far as a card of `room` characters needs it. The start
    of a long text, collapsed, begins as the whole text collapsed would (a prefix of it), so when it is
    already longer than `room` the rest is never split; a short one is collapsed whole."""
    start = " ".join(text[:4 * room].split())
    return start if len(start) > room else " ".join(text.split())


def word_fold(text: str, index: int) -> int:
    """`index` moved back to the start of the word it falls in: platforms show "… see more" after
    the last whole word that fits. A text that is one word up to there keeps `index`."""
    start = index
    while start > 0 and start < len(text) and not text[start].isspace() and not text[start - 1].isspace():
        start -= 1
    return start if start > 0 else index


class CheckResult(str):
    """What `check()` returns: a one-line summary that also carries warnings for `postbot status`."""

    warnings: list[str]

    def __new__(cls, summary: str, warnings: list[str] | None = None) -> "CheckResult":
        result = super().__new__(cls, summary)
        result.warnings = list(warnings or [])
        return result


class Sender:
    """Sends payloads built by Rules to one channel. `rules` are the platform's own, when it has any."""

    kind: ClassVar[str] = ""
    rules_class: ClassVar[type[Rules] | None] = None
    dedupes: ClassVar[bool] = False             # re-sending with the same key cannot duplicate
    required: ClassVar[tuple[str, ...]] = ()    # settings needed to publish (not to preview)
    # An AuthExpired is answered by refresh() and one more try; otherwise it fails the delivery as it is,
    # keeping the platform's own message and fix.
    refreshes: ClassVar[bool] = False

    def __init__(self, channel: Channel, state: ChannelState | None = None):
        self.channel = channel
        self.state = state or MemoryState()
        self.rules = self.rules_class(channel, self.state) if self.rules_class else None

    # ---- settings: checked before any request ---------------------------------------------
    def missing_settings(self) -> list[str]:
        return [self.channel.var(key) for key in self.required if not self.channel.setting(key)]

    def settings_problem(self) -> str | None:
        """What is wrong with the settings, naming the variables: missing ones, or a malformed value."""
        missing = self.missing_settings()
        if not missing:
            return None
        return "set " + (f"{', '.join(missing[:-1])} and {missing[-1]}" if len(missing) > 1 else missing[0])

    def require_settings(self) -> None:
        """Raise ConfigError naming the setting to fix; every publish and check starts here."""
        problem = self.settings_problem()
        if problem:
            raise ConfigError(f"channel {self.channel.name}: {problem}")

    def url_problem(self, key: str, path: re.Pattern[str], *, where: str, expected: str) -> str | None:
        """What is wrong with the URL setting `key` (a webhook URL is its own credential): unset (copy
        it from `where`), or not an http(s) URL whose path matches `path` (it should look like `expected`)."""
        url, var = self.channel.setting(key), self.channel.var(key)
        if not url:
            return f"set {var} to the webhook URL ({where})"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not path.search(parts.path):
            return f"{var} is not {expected}; copy it again"
        return None

    def refuse(self, post: Post) -> str | None:
        """A reason this channel can never publish this post; the platform's rules say."""
        return self.rules.refuse(post) if self.rules else None

    # ---- I/O through the injected client ----------------------------------------------------
    async def load_limits(self, client: "httpx.AsyncClient") -> list[str]:
        """Fetch limits that differ per account or instance into the state, before rendering;
        returns warnings."""
        return []

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        raise NotImplementedError

    async def recover(self, payload: dict[str, Any], ctx: PublishContext) -> Published | None:
        """After a crash or an ambiguous failure: the post if it landed, None if it did not.
        Raise Ambiguous when it cannot be known."""
        raise Ambiguous(f"{self.channel.kind} cannot look up whether the post landed")

    async def refresh(self, ctx: PublishContext) -> None:
        """Renew expired credentials after an AuthExpired; the runner calls it only when `refreshes`."""
        raise NotImplementedError

    async def renew(self, client: "httpx.AsyncClient", now: datetime) -> None:
        """Renew credentials that expire soon, before a publish needs them (the runner calls this first).
        Default: nothing expires, or nothing can be renewed ahead."""
        return None

    async def check(self, client: "httpx.AsyncClient") -> str:
        """One cheap authenticated call; returns who we are, raises ConfigError naming the variable."""
        self.require_settings()
        return "no credentials needed"

    def lifetime(self) -> "KeptToken | None":
        """The access token over its lifetime, for senders whose tokens expire (Meta, LinkedIn)."""
        return None

    def token_fix(self) -> str:
        """How to get a new token, in words that fit one about to expire as well as one that expired."""
        return ""

    # ---- shared by the senders ---------------------------------------------------------------
    def raise_for(self, response, now: datetime, *, platform: str, sent: bool = True,
                  reset: datetime | None = None, fix: str = "") -> None:
        """outcomes.raise_for_status, marked not sent for steps before the post (uploads, lookups)."""
        try:
            outcomes.raise_for_status(response, platform=platform, now=now, reset=reset, fix=fix)
        except PublishError as exc:
            raise exc if sent else unsent(exc)

    def check_failed(self, detail: str, fix: str = "") -> ConfigError:
        """A failed credentials check, naming the channel and the fix."""
        return ConfigError(f"channel {self.channel.name}: {detail}" + (f"; {fix}" if fix else ""))

    def check_answer(self, response, *, platform: str, auth_fix: str, other_fix: str) -> None:
        """A credentials check's answer: 200 passes; 401/403 blame the credentials, the rest the address."""
        if response.status_code == 200:
            return
        fix = auth_fix if response.status_code in (401, 403) else other_fix
        raise self.check_failed(f"{platform} answered {response.status_code} "
                                f"({outcomes.error_message(response)})", fix)


