"""The publisher interface: one subclass per platform, one module each.

A publisher knows its platform's rules (limit, counting, escaping, fold) and does
three things: build the exact payload from rendered text, publish it with an
idempotency key through an injected httpx client, and check credentials. It never
sleeps and never retries: it returns `Published` or raises a `PublishError` and the
runner decides what happens next (see errors.py).

Rendering must stay import-light: nothing here imports httpx at module level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from postbot.errors import Ambiguous, Rejected
from postbot.models import Channel, Post, Published

if TYPE_CHECKING:  # pragma: no cover
    import httpx


@dataclass
class Prepared:
    """Template output turned into what the platform receives, plus what counting needs."""

    text: str                                   # exactly what is sent
    links: list[str]                            # every link, as full URLs
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. Bluesky facets


class ChannelState:
    """Small persistent key/value memory per channel (sessions, cached instance limits)."""

    def __init__(self, getter: Callable[[str], Any], setter: Callable[[str, Any], None]):
        self._get, self._set = getter, setter

    @classmethod
    def of(cls, store, channel: str) -> "ChannelState":
        """The store's memory for one channel."""
        return cls(lambda key: store.state_get(channel, key),
                   lambda key, value: store.state_set(channel, key, value))

    def get(self, key: str, default: Any = None) -> Any:
        value = self._get(key)
        return default if value is None else value

    def set(self, key: str, value: Any) -> None:
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
    part: dict[str, Any] = field(default_factory=dict)      # {text, length, payload, links} as queued
    post: dict[str, Any] = field(default_factory=dict)      # {slug, title, url} of the queued post


class Publisher:
    platform: ClassVar[str] = ""
    limit: ClassVar[int] = 0
    fold: ClassVar[int | None] = None           # characters shown before "...see more"
    dedupes: ClassVar[bool] = False             # re-sending with the same key cannot duplicate
    can_lookup: ClassVar[bool] = False          # recover() can find out whether a post landed
    all_ctas: ClassVar[bool] = False            # room to carry every CTA
    link_in_bio: ClassVar[bool] = False         # links are not clickable; CTAs read 'link in bio'
    supports_threads: ClassVar[bool] = False
    required: ClassVar[tuple[str, ...]] = ()    # settings needed to publish (not to preview)
    teaser_max: ClassVar[int | None] = None     # a teaser, not the article: cap where the limit is huge
    thread_max_parts: ClassVar[int] = 8

    def __init__(self, channel: Channel, state: ChannelState | None = None):
        self.channel = channel
        self.state = state or MemoryState()

    # ---- rendering: pure, no I/O -------------------------------------------------
    def escape(self, value: str) -> str:
        """Applied to every value a template prints. Default: printed as is."""
        return value

    def link(self, url: str, label: str | None = None) -> str:
        """How a template writes a link with a label."""
        return f"{label}: {url}" if label else url

    def limit_for(self, post: Post | None = None) -> int:
        """The limit for this post (Telegram captions and Mastodon instances differ)."""
        return self.limit

    async def load_limits(self, client: "httpx.AsyncClient") -> list[str]:
        """Fetch limits that differ per account or instance before rendering; returns warnings."""
        return []

    def prepare(self, rendered: str) -> Prepared:
        from postbot import text as textlib
        return Prepared(text=rendered, links=textlib.find_urls(rendered, schemeless=False))

    def measure(self, prepared: Prepared) -> int:
        from postbot import text as textlib
        return textlib.grapheme_len(prepared.text)

    def violations(self, prepared: Prepared) -> list[str]:
        """Rules beyond the length limit (bytes, link counts). Empty when it may be sent."""
        return []

    def fold_index(self, prepared: Prepared) -> int | None:
        """Index into prepared.text where the platform folds, if the text is longer than that."""
        if self.fold is None or len(prepared.text) <= self.fold:
            return None
        return self.fold

    def build_payload(self, prepared: Prepared, post: Post) -> dict[str, Any]:
        return {"text": prepared.text}

    def warnings(self, prepared: Prepared, post: Post) -> list[str]:
        return []

    def refuse(self, post: Post) -> str | None:
        """A reason this channel can never publish this post (checked at queue time)."""
        return None

    # ---- publishing: I/O through the injected client ------------------------------
    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        raise NotImplementedError

    async def recover(self, payload: dict[str, Any], ctx: PublishContext) -> Published | None:
        """After a crash or an ambiguous failure: the post if it landed, None if it did not.
        Raise Ambiguous when it cannot be known."""
        raise Ambiguous(f"{self.platform} cannot look up whether the post landed")

    async def refresh(self, ctx: PublishContext) -> None:
        """Renew expired credentials. Default: nothing can be renewed."""
        raise Rejected(f"{self.platform} credentials expired; renew them in the settings of "
                       f"channel {self.channel.name}")

    async def check(self, client: "httpx.AsyncClient") -> str:
        """One cheap authenticated call; returns who we are, raises ConfigError naming the variable."""
        return "no credentials needed"

    def missing_settings(self) -> list[str]:
        return [self.channel.var(key) for key in self.required if not self.channel.setting(key)]
