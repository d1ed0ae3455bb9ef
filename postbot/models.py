"""The nouns of postbot: what a post is, where it goes, what was rendered and what happened."""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CTA:
    label: str
    url: str


@dataclass
class Post:
    """A parsed post file. Every field but `source`, `slug` and `body` is optional."""

    source: str
    slug: str
    title: str
    body: str                                   # plain text, paragraphs separated by blank lines
    url: str | None = None
    date: str | None = None                     # ISO date, as written
    teaser: str | None = None
    ctas: list[CTA] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    image_alt: str | None = None
    lang: str | None = None
    channels: list[str] | None = None
    publish_at: str | None = None               # as written; resolved by the scheduler
    thread: bool = False
    content_warning: str | None = None
    visibility: str | None = None
    teaser_strategy: str | None = None          # "lead" | "hook"; None: the channel's, else hook
    show_ctas: str | None = None                # which CTAs: all | first | none | "1,3"; None: the platform's
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)   # channel or platform -> settings
    repeat: dict[str, Any] | None = None        # evergreen re-shares: {every: "30d", times: 4, until: "2027-06-01"}
    warnings: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)     # front matter key -> its line, for messages

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Post":
        data = dict(data)
        data["ctas"] = [CTA(**c) for c in data.get("ctas", [])]
        return cls(**data)

    def override(self, channel: str, platform: str) -> dict[str, Any]:
        """Per-channel settings from front matter: the platform's, then the channel's own."""
        merged: dict[str, Any] = {}
        merged.update(self.overrides.get(platform, {}))
        merged.update(self.overrides.get(channel, {}))
        return merged


@dataclass(frozen=True)
class Channel:
    """One account to publish to: a name, the adapter that sends, the platform whose rules it renders by."""

    name: str
    kind: str                       # adapter: "outbox", "webhook", "x", "bluesky", ...
    platform: str                   # rules the text follows; differs from kind for outbox/webhook
    settings: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    slots: str | None = None
    template: str | None = None
    utm: bool = True

    def setting(self, key: str, default: str | None = None) -> str | None:
        value = self.settings.get(key)
        return value if value not in (None, "") else default

    def var(self, key: str) -> str:
        """The environment variable that holds `key` for this channel, for error messages."""
        return f"{env_prefix(self.name)}_{key}"


def env_prefix(channel_name: str) -> str:
    return channel_name.upper().replace("-", "_")


@dataclass
class Part:
    """One publishable message: a whole post, or one part of a thread. Rendered once, then stored
    and handed to the sender as it is."""

    text: str
    length: int
    payload: dict[str, Any]
    links: list[str] = field(default_factory=list)     # on the head: every link of the render

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "length": self.length, "payload": self.payload, "links": self.links}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Part":
        return cls(data["text"], data["length"], data["payload"], list(data.get("links") or []))


@dataclass
class Render:
    channel: str
    platform: str
    text: str
    length: int
    limit: int
    fits: bool
    truncated: bool
    links: list[str]
    warnings: list[str]
    payload: dict[str, Any]
    fold: int | None = None                     # index in `text` where the platform shows "see more"
    parts: list[Part] = field(default_factory=list)   # >1 only for threads; parts[0] is the head
    hashtags: list[dict[str, Any]] = field(default_factory=list)  # per tag: {tag, text, clickable} here

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if len(self.parts) <= 1:
            data.pop("parts")
        return data


class State(str, enum.Enum):
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


@dataclass
class Delivery:
    id: int
    post_id: int
    post_slug: str
    channel: str
    platform: str
    due_at: datetime                            # aware, UTC
    state: State
    idempotency_key: str
    attempts: int = 0
    next_attempt_at: datetime | None = None     # when a retry or rate-limit wait ends
    remote_id: str | None = None
    remote_url: str | None = None
    error: str | None = None
    parts: list[Part] = field(default_factory=list)     # exactly what the render made; >1 for a thread
    progress: dict[str, Any] = field(default_factory=dict)         # what the publisher saved mid-flight
    claimed_by: str | None = None
    lease_until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "post": self.post_slug,
            "channel": self.channel,
            "platform": self.platform,
            "due_at": iso_utc(self.due_at),
            "state": self.state.value,
            "attempts": self.attempts,
            "remote_id": self.remote_id,
            "remote_url": self.remote_url,
            "error": self.error,
        }


@dataclass
class Attempt:
    delivery_id: int
    at: datetime
    status: int | None
    error: str | None
    latency_ms: float | None
    outcome: str                                # published, retry, rate_limited, failed, unknown, ...

    def to_json(self) -> dict[str, Any]:
        return {"at": iso_utc(self.at), "status": self.status, "error": self.error,
                "latency_ms": self.latency_ms, "outcome": self.outcome}


@dataclass(frozen=True)
class Published:
    remote_id: str
    remote_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)    # e.g. Bluesky cid, for chaining thread replies

    def to_json(self) -> dict[str, Any]:
        """As a delivery's progress keeps each published part (extra keys flattened beside the id)."""
        return {"remote_id": self.remote_id, "remote_url": self.remote_url, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Published":
        extra = {k: v for k, v in data.items() if k not in ("remote_id", "remote_url")}
        return cls(data["remote_id"], data.get("remote_url"), extra)


def iso_utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(_UTC).isoformat().replace("+00:00", "Z")


from datetime import timezone as _tz  # noqa: E402  (kept near its only use)

_UTC = _tz.utc


@dataclass
class Feed:
    """A feed the daemon polls: where it is, what to do with its items, and how the last poll went."""

    id: int
    url: str
    name: str
    options: dict[str, Any]             # channels, ctas, first, every, slots, template, teaser
    next_poll_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    last_poll_at: datetime | None = None
    last_status: int | None = None
    last_result: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "url": self.url, "options": self.options,
                "next_poll_at": iso_utc(self.next_poll_at), "last_poll_at": iso_utc(self.last_poll_at),
                "last_status": self.last_status, "last_result": self.last_result}


@dataclass
class SourceItem:
    """One item a source (a feed, a watched folder) has seen, and what became of it."""

    id: int
    source: str                         # "feed:<id>" or "folder:<path>"
    guid: str
    link: str | None                    # normalised, the second dedupe key
    title: str
    state: str                          # new, queued, skipped, failed
    item: dict[str, Any]                # what is needed to make the post again after a crash
    post_id: int | None = None
    detail: str | None = None
    seen_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "guid": self.guid, "link": self.link, "title": self.title,
                "state": self.state, "post_id": self.post_id, "detail": self.detail,
                "seen_at": iso_utc(self.seen_at)}


@dataclass(frozen=True)
class AlertEvent:
    """Something a person should hear about (a delivery failed, a credential stopped working), once:
    `key` is derived from the event itself, so noticing it again, in any process, changes nothing."""

    key: str
    kind: str                           # failed, unknown, credentials, token, crash
    subject: str                        # the channel (or daemon) it is about: an alert channel is not told of itself
    message: str                        # ready to print; the store redacts it as it takes it
    at: datetime
    sent_at: datetime | None = None     # when a digest took it; None while it waits for one

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message, "at": iso_utc(self.at),
                "sent_at": iso_utc(self.sent_at)}
