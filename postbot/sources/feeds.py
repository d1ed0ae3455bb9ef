"""Feeds: polite polling (conditional requests, Retry-After, Cache-Control), remembering every item,
and queueing new ones into the channels' next free slots.

A poll is: claim the feed (so one daemon polls it) -> GET with If-None-Match/If-Modified-Since ->
record the items found and the new validators in one transaction -> queue each new item in its
own transaction (sources/intake.py). The first poll of a feed queues only its newest `first`
items and remembers the rest as seen, so adding a blog with 300 old articles posts one.
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from postbot.config import Settings
from postbot.errors import UsageError
from postbot.models import CTA, Feed, Post, SourceItem
from postbot.sources.intake import Intake, queue_pending, source_channels

log = logging.getLogger("postbot.feeds")
UTC = timezone.utc
DEFAULT_EVERY = 900                 # seconds between polls unless the feed says wait longer
MIN_EVERY = 60
MAX_WAIT = 86400                    # a Retry-After or max-age beyond a day is capped at a day
CLAIM_SECONDS = 300                 # a claimed poll that never finishes (a crash) is retried after this
RATE_LIMITED_WAIT = 3600            # a 429 or 503 without Retry-After
USER_AGENT = "postbot (feed poller; +https://github.com/postbot)"
_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_SECONDS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class FeedOptions:
    """What a feed's items become: stored with the feed as JSON."""

    channels: list[str] | None = None           # None: every configured channel
    ctas: list[CTA] = field(default_factory=list)   # for items, which never carry their own
    first: int = 1                              # the first poll queues this many of the newest items
    every: int = DEFAULT_EVERY                  # seconds between polls
    slots: str | None = None                    # else each channel's <NAME>_SLOTS, else intake.DEFAULT_SLOTS
    template: str | None = None                 # a template name in POSTBOT_TEMPLATES for every channel
    teaser: str = "body"                        # body: cut from the article; title: the item's title
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeedOptions":
        data = dict(data)
        data["ctas"] = [CTA(**c) for c in data.get("ctas", [])]
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def feed_options(*, channels: list[str] | None, ctas: list[str] | None, first: int, every: str,
                 slots: str | None, template: str | None, teaser: str, tags: list[str] | None) -> FeedOptions:
    """FeedOptions from what a person typed (the CLI's flags), each value checked with a fix-it message."""
    if first < 0:
        raise UsageError(f"--first {first}: give 0 or more (how many of the newest items the first poll queues)")
    if slots:
        from postbot.times import parse_slots
        parse_slots(slots, "--slots")
    return FeedOptions(channels=channels, ctas=[parse_cta(c) for c in ctas or []], first=first,
                       every=parse_every(every), slots=slots, template=template, teaser=teaser, tags=list(tags or []))


def parse_every(text: str, what: str = "--every") -> int:
    """'15m', '90s', '2h', '1d' or minutes as a bare number -> seconds (at least a minute)."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise UsageError(f"{what}: {text!r} is not a duration; write 15m, 2h, 1d or 90s")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if seconds < MIN_EVERY:
        raise UsageError(f"{what}: {text} is too often; poll at most once a minute (e.g. {what} 5m)")
    return seconds


def parse_cta(text: str) -> CTA:
    """'Label https://...' (the last word is the link)."""
    label, _, url = text.strip().rpartition(" ")
    if not label.strip() or not url.startswith(("https://", "http://")):
        raise UsageError(f"--cta {text!r}: write the label, a space, then the full link, e.g. "
                         f"--cta 'Personal Training https://example.com/pt'")
    return CTA(label.strip(), url)


# ---- when to poll next -----------------------------------------------------------------------------
def retry_after(value: str | None, now: datetime) -> int | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int((moment - now).total_seconds()))


def max_age(cache_control: str | None) -> int | None:
    for directive in (cache_control or "").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name == "max-age" and value.strip().strip('"').isdigit():
            return int(value.strip().strip('"'))
    return None


def next_poll(now: datetime, every: int, status: int | None, headers: dict[str, str]) -> tuple[datetime, str]:
    """When to ask again, and why: never sooner than the feed's own interval, later when the server
    asks for it (Retry-After on 429/503, or a Cache-Control max-age longer than the interval)."""
    if status in (429, 503):
        wait = retry_after(headers.get("retry-after"), now)
        reason = f"the server asked to wait {wait}s (Retry-After)" if wait is not None else \
            f"rate limited without Retry-After; waiting {RATE_LIMITED_WAIT}s"
        wait = RATE_LIMITED_WAIT if wait is None else wait
        return now + timedelta(seconds=min(max(wait, 1), MAX_WAIT)), reason
    if status in (200, 304):
        age = max_age(headers.get("cache-control"))
        if age is not None and age > every:
            return now + timedelta(seconds=min(age, MAX_WAIT)), f"cached for {min(age, MAX_WAIT)}s (Cache-Control)"
    return now + timedelta(seconds=every), ""


# ---- fetching ----------------------------------------------------------------------------------------
@dataclass
class Fetched:
    status: int | None                          # None: no answer (network error)
    headers: dict[str, str]
    body: bytes = b""
    error: str = ""


def fetch(client, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Fetched:
    """GET the feed, conditionally when validators are known. Never raises for network trouble."""
    import httpx

    headers = {"User-Agent": USER_AGENT,
               "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                         "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        return Fetched(None, {}, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    return Fetched(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                   response.content if response.status_code == 200 else b"")


def http_client():
    import httpx
    return httpx.Client(timeout=httpx.Timeout(20.0, connect=10.0), follow_redirects=True)


# ---- polling -----------------------------------------------------------------------------------------
@dataclass
class PollResult:
    feed: Feed
    status: int | None
    result: str
    next_poll_at: datetime
    found: int = 0                              # items in the document
    new: int = 0                                # of which not seen before (and not skipped)
    intake: Intake = field(default_factory=Intake)

    def to_json(self) -> dict[str, Any]:
        from postbot.models import iso_utc
        return {"feed": self.feed.name, "url": self.feed.url, "status": self.status, "result": self.result,
                "found": self.found, "new": self.new, "next_poll_at": iso_utc(self.next_poll_at),
                "queued": [{"title": item.title, "deliveries": [d.to_json() for d in deliveries]}
                           for item, deliveries in self.intake.queued],
                "failed": [{"title": item.title, "error": error} for item, error in self.intake.failed]}


def source_of(feed: Feed) -> str:
    return f"feed:{feed.id}"


def feed_post(feed: Feed, options: FeedOptions, item: SourceItem) -> Post:
    from postbot.sources.feed_parse import item_post
    return item_post(item.item, source=f"feed {feed.name}", ctas=options.ctas, teaser=options.teaser,
                     tags=options.tags)


class FeedPoller:
    """Polls due feeds and queues their new items. `client` is an httpx.Client (tests pass their own)."""

    def __init__(self, settings: Settings, store, client=None, renderer=None):
        self.settings, self.store = settings, store
        self.client = client or http_client()
        self.renderer = renderer

    def close(self) -> None:
        self.client.close()

    def poll_due(self, now: datetime) -> list[PollResult]:
        """Every feed whose time has come; then items left pending by an earlier crash."""
        results = [self.poll(feed, now) for feed in self.store.claim_feeds(now, lease_seconds=CLAIM_SECONDS)]
        polled = {r.feed.id for r in results}
        for feed in self.store.feeds():
            if feed.id not in polled and self.store.pending_items(source_of(feed), limit=1):
                self.queue_new(feed, now)
        return results

    def poll(self, feed: Feed, now: datetime) -> PollResult:
        from postbot.sources.feed_parse import parse_feed

        options = FeedOptions.from_dict(feed.options)
        fetched = fetch(self.client, feed.url, etag=feed.etag, last_modified=feed.last_modified)
        when, why = next_poll(now, options.every, fetched.status, fetched.headers)
        if fetched.status == 200:
            try:
                parsed = parse_feed(fetched.body, url=feed.url, content_type=fetched.headers.get("content-type", ""))
            except UsageError as exc:
                self.store.finish_poll(feed.id, now=now, status=200, result=f"error: {exc}", next_poll_at=when)
                log.error("feed %s: %s", feed.name, exc)
                return PollResult(feed, 200, f"error: {exc}", when)
            new_ids = self.store.finish_poll(
                feed.id, now=now, status=200, result=f"{len(parsed.items)} items", next_poll_at=when,
                etag=fetched.headers.get("etag"), last_modified=fetched.headers.get("last-modified"),
                items=[item.key() for item in parsed.items], first_take=options.first)
            result = PollResult(feed, 200, "", when, found=len(parsed.items), new=len(new_ids))
        elif fetched.status == 304:
            self.store.finish_poll(feed.id, now=now, status=304, result="not modified", next_poll_at=when)
            result = PollResult(feed, 304, "", when)
        else:
            problem = fetched.error or f"HTTP {fetched.status}"
            result_text = f"error: {problem}" + (f"; {why}" if why else "")
            self.store.finish_poll(feed.id, now=now, status=fetched.status, result=result_text, next_poll_at=when)
            log.warning("feed %s: %s; next poll %s", feed.name, result_text, f"{when:%Y-%m-%d %H:%M}Z")
            return PollResult(feed, fetched.status, result_text, when)
        result.intake = self.queue_new(feed, now)
        words = ["not modified" if fetched.status == 304 else f"{result.found} items, {result.new} new",
                 result.intake.summary()] + ([why] if why else [])
        result.result = "; ".join(words)
        self.store.finish_poll(feed.id, now=now, status=fetched.status, result=result.result, next_poll_at=when)
        return result

    def queue_new(self, feed: Feed, now: datetime) -> Intake:
        options = FeedOptions.from_dict(feed.options)
        channels = source_channels(self.settings, options.channels, slots=options.slots, template=options.template)
        return queue_pending(self.settings, self.store, source_of(feed), now, channels=channels,
                             make_post=lambda item: feed_post(feed, options, item), renderer=self.renderer)


# ---- the feed use cases (postbot.app re-exports them for the faces) ---------------------------------------------------------------------------
@dataclass
class Found:
    """A feed document fetched now, for `feeds add` and `feeds check`."""

    url: str
    title: str
    kind: str
    items: list[Any]                            # FeedItem, oldest first
    would_queue: list[Any]                      # FeedItem
    posts: list[Post | None]                    # per item in would_queue; None: it cannot be a post
    problems: list[str] = field(default_factory=list)


def look(settings: Settings, store, url: str, options: FeedOptions, *, feed: Feed | None, client=None) -> Found:
    """Fetch and parse `url` unconditionally; say which items a poll would queue now."""
    from postbot.sources.feed_parse import parse_feed

    own = client is None
    client = client or http_client()
    try:
        fetched = fetch(client, url)
    finally:
        if own:
            client.close()
    if fetched.status != 200:
        raise UsageError(f"cannot read the feed {url}: {fetched.error or f'HTTP {fetched.status}'}; "
                         f"check the address (open it in a browser)")
    parsed = parse_feed(fetched.body, url=url, content_type=fetched.headers.get("content-type", ""))
    if feed is None or not store.seen_before(source_of(feed)):
        would = parsed.newest(options.first)
    else:
        unseen = {i["guid"] for i in store.unseen(source_of(feed), [item.key() for item in parsed.items])}
        would = [item for item in parsed.items if item.guid in unseen]
    from postbot.sources.feed_parse import item_post
    posts: list[Post | None] = []
    problems = []
    for item in would:
        try:
            posts.append(item_post(item.key()["item"], source=f"feed {feed.name if feed else url}",
                                   ctas=options.ctas, teaser=options.teaser, tags=options.tags))
        except UsageError as exc:
            posts.append(None)
            problems.append(str(exc))
    return Found(url, parsed.title, parsed.kind, parsed.items, would, posts, problems)


def feed_name(url: str, store) -> str:
    """A short unused name from the feed's host: example-com, example-com-2, ..."""
    from urllib.parse import urlsplit

    from postbot.posts import slugify
    base = slugify((urlsplit(url).hostname or "feed").removeprefix("www.")) or "feed"
    taken = {f.name for f in store.feeds()}
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def add_feed(settings: Settings, store, url: str, options: FeedOptions, *, name: str | None = None,
             now: datetime | None = None, client=None) -> tuple[Feed, Found]:
    """Check the feed answers and parses, then remember it: (Feed, what was found). The daemon's
    next pass polls it."""
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"{url!r} is not a web address; give the feed's full URL, e.g. https://example.com/feed")
    source_channels(settings, options.channels)          # unknown channel names fail here, before anything
    if options.template and settings.templates_dir is None:
        raise UsageError("--template needs POSTBOT_TEMPLATES (the folder holding your templates)")
    found = look(settings, store, url, options, feed=None, client=client)
    feed = store.add_feed(url=url, name=name or feed_name(url, store), options=options.to_dict(),
                          now=now or datetime.now(UTC))
    return feed, found


def list_feeds(store) -> list[tuple[Feed, dict[str, int]]]:
    """Every feed with how many of its items are queued, skipped, failed or still new."""
    return [(feed, store.item_counts(source_of(feed))) for feed in store.feeds()]


def find_feed(store, ref: str) -> Feed:
    feed = store.feed(ref)
    if feed is None:
        raise UsageError(f"no feed {ref!r}; see `postbot feeds list`")
    return feed


def remove_feed(store, ref: str) -> Feed:
    """Stop polling a feed; what it queued stays queued."""
    feed = find_feed(store, ref)
    store.remove_feed(feed.id)
    return feed


@dataclass
class FeedCheck:
    found: Found                        # the document as fetched now
    previews: list[Any]                 # app.Preview, one per item a poll would queue now
    failures: list[str]                 # items that could not be queued, and renders that cannot fit


def check_feed(settings: Settings, store, ref: str) -> FeedCheck:
    """A dry run of a poll (a known feed by name or URL, or any feed URL): what would be queued now,
    rendered for each channel exactly as a poll would. Nothing is written."""
    from postbot.app import channel_rules, render_preview
    from postbot.render import Renderer

    feed = store.feed(ref)
    if feed is None and not ref.startswith(("https://", "http://")):
        raise UsageError(f"no feed {ref!r}; give a feed's name from `postbot feeds list` or a URL")
    options = FeedOptions.from_dict(feed.options) if feed else FeedOptions()
    found = look(settings, store, feed.url if feed else ref, options, feed=feed)
    channels = source_channels(settings, options.channels, slots=options.slots, template=options.template)
    rules, warnings = channel_rules(channels, store)
    renderer = Renderer(settings.templates_dir, settings.llm, sandbox=settings.template_sandbox)
    previews, failures = [], list(found.problems)
    for item, post in zip(found.would_queue, found.posts):
        if post is not None:
            previews.append(render_preview(post, channels, rules, renderer, warnings))
            failures += [f"{item.title}: {failure}" for failure in previews[-1].failures]
    return FeedCheck(found, previews, failures)
