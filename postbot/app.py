"""The use cases every face calls (the CLI and the web dashboard): preview, queue, list, show,
cancel, retry, reschedule, status, connect, run once, serve, and adding, listing, checking and removing feeds.

A face parses its input, calls one function here and formats what comes back with postbot.output;
it never reaches into the renderer, the store or a sender itself. So an action that exists in
one face exists in the other through the same function, and what you preview is what is queued:
both take every channel's rules and limits from `channel_rules`, backed by the store.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from postbot.config import Settings
from postbot.errors import ConfigError, RenderError, UsageError
from postbot.models import Attempt, Channel, Delivery, Feed, Post, Render, State
from postbot.platforms import make_rules, make_sender
from postbot.platforms.base import Rules, Sender
from postbot.render import Renderer
from postbot.times import next_free_slot, parse_slots, parse_when

UTC = timezone.utc


def utcnow() -> datetime:
    return datetime.now(UTC)


def open_store(settings: Settings, *, create: bool = True):
    """The configured store, migrated to the current schema. create=False for actions that only
    look (or may still fail): a SQLite file that does not exist yet is not created and reads as empty."""
    from postbot.store import open_store as open_url

    store = open_url(settings.database_url, create=create)
    store.migrate()
    return store


# ---- channels and their rules ----------------------------------------------------------------
def select_channels(settings: Settings, names: list[str] | None, post: Post | None = None) -> list[Channel]:
    """The channels asked for by name, else the post's `channels:`, else every configured one."""
    if names:
        return [settings.channel(name) for name in dict.fromkeys(names)]
    if not (post and post.channels):
        return list(settings.channels)
    known = {c.name for c in settings.channels}
    unknown = [name for name in post.channels if name not in known]
    if unknown:
        from postbot.errors import PostError
        raise PostError(f"'channels' names {', '.join(map(repr, unknown))}, which is not a configured channel "
                        f"(configured: {', '.join(sorted(known))}); remove it or add it to POSTBOT_CHANNELS",
                        post.source, post.lines.get("channels"))
    return [settings.channel(name) for name in dict.fromkeys(post.channels)]


def channel_rules(channels: list[Channel], store) -> tuple[dict[str, Rules], list[str]]:
    """Each channel's text rules with its state in the store, and warnings about limits.

    Platforms whose limits differ per instance (Mastodon) are asked first, for channels that
    really publish there (their sender writes what it reads into the memory the rules read);
    a failure keeps what the store already knows, with a warning.
    """
    rules = {channel.name: make_rules(channel, store=store) for channel in channels}
    senders = [make_sender(c, state=rules[c.name].state) for c in channels if c.kind == c.platform]
    wanted = [s for s in senders if type(s).load_limits is not Sender.load_limits and not s.missing_settings()]
    if not wanted:
        return rules, []
    import asyncio

    import httpx

    async def fetch() -> list[str]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=3.0)) as client:
            results = await asyncio.gather(*(s.load_limits(client) for s in wanted), return_exceptions=True)
        warnings = []
        for sender, result in zip(wanted, results):
            name = sender.channel.name
            if isinstance(result, BaseException):
                warnings.append(f"channel {name}: could not read its limits ({result}); "
                                f"using {rules[name].limit_for()}")
            else:
                warnings.extend(f"channel {name}: {w}" for w in result)
        return warnings
    return rules, asyncio.run(fetch())


# ---- preview ---------------------------------------------------------------------------------
@dataclass
class Preview:
    post: Post
    renders: list[Render]
    failures: list[str] = field(default_factory=list)      # one RenderError message per channel that cannot fit
    warnings: list[str] = field(default_factory=list)      # the post's own, then the channels' limits

    @property
    def ok(self) -> bool:
        return not self.failures


def preview(settings: Settings, store, post: Post, channel_names: list[str] | None = None,
            renderer: Renderer | None = None) -> Preview:
    """Render `post` for each channel exactly as `queue` would, without queueing anything."""
    channels = select_channels(settings, channel_names, post)
    rules, limit_warnings = channel_rules(channels, store)
    renderer = renderer or Renderer(settings.templates_dir, settings.llm, sandbox=settings.template_sandbox)
    return render_preview(post, channels, rules, renderer, limit_warnings)


def render_preview(post: Post, channels: list[Channel], rules: dict[str, Rules], renderer: Renderer,
                   limit_warnings: list[str] = ()) -> Preview:
    """`post` rendered for each channel with the given rules; a channel it cannot fit is a failure."""
    renders, failures = [], []
    for channel in channels:
        try:
            renders.append(renderer.render(post, channel, rules[channel.name]))
        except RenderError as exc:
            failures.append(str(exc))
    return Preview(post, renders, failures, list(post.warnings) + list(limit_warnings))


def find_delivery(store, delivery_id: int) -> Delivery:
    delivery = store.get(delivery_id)
    if delivery is None:
        raise UsageError(f"no delivery with id {delivery_id}; see `postbot list`")
    return delivery


def preview_delivery(store, delivery_id: int) -> tuple[Delivery, dict]:
    """A queued delivery as the daemon will send it, and the snapshot of its post."""
    delivery = find_delivery(store, delivery_id)
    return delivery, store.post_snapshot(delivery.post_id)



def stored_render(settings: Settings, store, delivery: Delivery) -> Render:
    """A queued delivery as a Render of exactly its stored parts (nothing re-rendered), counted against
    its channel's limit, with the fold where the platform folds: what a preview card shows."""
    from postbot.models import Part
    from postbot.platforms.base import Prepared

    try:
        rules = make_rules(settings.channel(delivery.channel), store=store)
    except ConfigError:            # the channel was removed from the settings since: its platform's rules
        rules = None
    head = delivery.parts[0] if delivery.parts else Part("", 0, {})
    limit = rules.limit_for(None) if rules else 0
    fold = rules.fold_index(Prepared(head.text, head.links)) if rules and len(delivery.parts) == 1 else None
    parts = list(delivery.parts)
    return Render(delivery.channel, delivery.platform, head.text, head.length, limit,
                  fits=not limit or all(p.length <= limit for p in parts), truncated=False,
                  links=list(head.links), warnings=[], payload=head.payload, fold=fold, parts=parts)

# ---- queue -----------------------------------------------------------------------------------
@dataclass
class Planned:
    channel: Channel
    render: Render
    due_at: datetime


def plan(post: Post, channels: list[Channel], settings: Settings, *, at: str | None, now: datetime,
         store, renderer: Renderer | None = None) -> list[Planned]:
    """Render and time `post` for every channel. Everything that can be wrong is found here, before
    anything is written: missing settings, posts a platform refuses, renders that cannot fit."""
    renderer = renderer or Renderer(settings.templates_dir, settings.llm, sandbox=settings.template_sandbox)
    rules, _ = channel_rules(channels, store)
    problems: list[str] = []
    planned: list[Planned] = []
    zone = settings.zone()
    line = post.lines.get("publish_at")
    when_text, what = (at, "--at") if at else (post.publish_at, f"{post.source}{f':{line}' if line else ''}: "
                                                                 f"publish_at")
    fixed = parse_when(when_text, now, zone, what=what) if when_text else None
    wants_slot = bool(when_text) and fixed is None          # `next`: each channel's next free slot
    for channel in channels:
        sender = make_sender(channel, store=store, settings=settings)
        missing = sender.missing_settings()
        if missing:
            problems.append(f"channel {channel.name}: set {', '.join(missing)} (see .env.example)")
            continue
        refusal = sender.refuse(post)
        if refusal:
            problems.append(f"channel {channel.name}: {refusal}")
            continue
        if wants_slot and not channel.slots:
            # No guessed defaults: a made-up slot would silently delay a post to a time nobody chose.
            problems.append(f"channel {channel.name}: {what} next needs posting slots; set {channel.var('SLOTS')}, "
                            f"e.g. {channel.var('SLOTS')}='mon-fri 09:00,17:30; sat 10:00' (local times), "
                            f"or give a time such as --at now or --at 2026-12-01T09:00")
            continue
        render = renderer.render(post, channel, rules[channel.name])
        if fixed is not None:
            due = fixed
        elif channel.slots:                 # `next`, or no time given: the next free slot
            slots = parse_slots(channel.slots, channel.var("SLOTS"))
            due = next_free_slot(slots, now, zone, store.taken_slots(channel.name, now))
        else:
            due = now                       # no time given and no slots: now
        planned.append(Planned(channel, render, due))
    if problems:
        raise ConfigError("cannot queue " + post.source + ":\n  " + "\n  ".join(problems))
    return planned


def add_planned(post: Post, planned: list[Planned], store, now: datetime, *, source_item: int | None = None,
                reshares: list = ()) -> list[Delivery]:
    """Store the post's snapshot and one delivery per planned channel, and its evergreen re-shares
    (repeats.Reshare), in one transaction; with source_item, the feed or folder item the post came
    from is marked queued in that transaction."""
    import uuid

    batches = []
    for one, its_planned in [(post, planned)] + [(r.post, r.planned) for r in reshares]:
        items = [{"channel": p.channel.name, "platform": p.render.platform, "due_at": p.due_at,
                  "parts": p.render.parts, "idempotency_key": uuid.uuid4().hex} for p in its_planned]
        if not items:
            raise UsageError("no channel to queue to")
        batches.append({"slug": one.slug, "title": one.title, "source": str(Path(one.source)),
                        "snapshot": one.to_dict(), "deliveries": items})
    return store.add_posts(batches, now=now, source_item=source_item)


def plan_reshares(settings: Settings, store, post: Post, planned: list[Planned], now: datetime,
                  renderer: Renderer | None = None):
    """The post's evergreen re-shares (its `repeat:`), each in words no channel has had: a
    repeats.RepeatPlan. Nothing is written."""
    from postbot.repeats import RepeatPlan, parse_repeat, plan_repeats
    if not post.repeat:
        return RepeatPlan()
    try:
        repeat = parse_repeat(post.repeat, what=f"{post.source}: repeat")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return plan_repeats(post, planned, repeat, settings, store, renderer or Renderer(settings.templates_dir, settings.llm, sandbox=settings.template_sandbox), now)


def add_with_reshares(settings: Settings, store, post: Post, planned: list[Planned], now: datetime, *,
                      renderer: Renderer | None = None, source_item: int | None = None) -> list[Delivery]:
    """add_planned, with the post's re-shares planned first; when they stop short of `times`
    (no distinct wording left, or past `until`) the post gets a warning and `status` a notice."""
    reshares = plan_reshares(settings, store, post, planned, now, renderer)
    deliveries = add_planned(post, planned, store, now, source_item=source_item, reshares=reshares.reshares)
    if reshares.stopped:
        post.warnings.append(f"{post.source}: repeat: {reshares.stopped}")
        store.add_notice(f"post {post.slug}", f"repeat stopped: {reshares.stopped}", now)
    return deliveries


def queue(settings: Settings, store, post: Post, channel_names: list[str] | None = None, *,
          at: str | None = None, now: datetime | None = None, again: bool = False) -> list[Delivery]:
    """Validate `post` for every channel, then queue it (and its re-shares): all channels or none. A post already queued
    to one of those channels is refused unless `again` (it would be published twice)."""
    now = now or utcnow()
    channels = select_channels(settings, channel_names, post)
    earlier = store.queued_before(post.slug, post.title, [c.name for c in channels])
    if earlier and not again:
        shown = ", ".join(f"#{d.id} {d.channel} ({d.state.value})" for d in earlier[:8])
        more = f" and {len(earlier) - 8} more" if len(earlier) > 8 else ""
        raise UsageError(f"{post.source} ({post.title!r}) is already queued: {shown}{more}; queueing it again "
                         f"would publish it twice. Add --again to queue it once more, or `postbot cancel ID` "
                         f"the earlier delivery first")
    planned = plan(post, channels, settings, at=at, now=now, store=store)
    if getattr(store, "missing", False):
        # Everything checked out: now the database file may be created, keeping what the checks
        # learnt about the channels (an instance's limits) as a store that existed would have.
        learnt, store = store, open_store(settings)
        for channel, key, value in learnt.all_state():
            store.state_set(channel, key, value)
    return add_with_reshares(settings, store, post, planned, now)


@dataclass
class PlannedShare:
    number: int                         # 0: the first post; 1, 2, ...: re-shares
    due: dict[str, datetime]            # channel -> when
    preview: Preview


def preview_reshares(settings: Settings, store, post: Post, channel_names: list[str] | None = None, *,
                     at: str | None = None, now: datetime | None = None) -> tuple[list[PlannedShare], str | None]:
    """Every planned share of `post`, first post and re-shares, as `queue` would store them, and why
    the re-shares stop short if they do. Nothing is written."""
    now = now or utcnow()
    renderer = Renderer(settings.templates_dir, settings.llm, sandbox=settings.template_sandbox)
    planned = plan(post, select_channels(settings, channel_names, post), settings, at=at, now=now, store=store,
                   renderer=renderer)
    reshares = plan_reshares(settings, store, post, planned, now, renderer)
    shares = [PlannedShare(0, {p.channel.name: p.due_at for p in planned},
                           Preview(post, [p.render for p in planned], [], list(post.warnings)))]
    shares += [PlannedShare(r.number, {p.channel.name: p.due_at for p in r.planned},
                            Preview(r.post, [p.render for p in r.planned])) for r in reshares.reshares]
    return shares, reshares.stopped


# ---- deciding about deliveries ---------------------------------------------------------------
def list_deliveries(store, state: str | None = None) -> list[Delivery]:
    return store.list(State(state) if state else None)


def show(store, delivery_id: int) -> tuple[Delivery, list[Attempt]]:
    """One delivery and every attempt at it."""
    return find_delivery(store, delivery_id), store.attempts(delivery_id)


def cancel(store, delivery_id: int, now: datetime | None = None) -> Delivery:
    return store.cancel(delivery_id, now or utcnow())


def retry(store, delivery_id: int, now: datetime | None = None) -> Delivery:
    """Send a failed or unknown delivery again now."""
    return store.retry(delivery_id, now or utcnow())


def reschedule(settings: Settings, store, delivery_id: int, at: str, now: datetime | None = None) -> Delivery:
    now = now or utcnow()
    when = parse_when(at, now, settings.zone())
    if when is None:
        raise UsageError("--at next is only for queue; give a time")
    return store.reschedule(delivery_id, when, now)



def mark_published(store, delivery_id: int, remote_url: str | None = None, now: datetime | None = None) -> Delivery:
    """Settle an `unknown` delivery the user found on the platform: it went out (at remote_url)."""
    if remote_url and not remote_url.startswith(("https://", "http://")):
        raise UsageError(f"--url {remote_url!r} is not a web address; paste the post's https:// link")
    return store.mark_published(delivery_id, remote_url or None, now or utcnow())


@dataclass
class Week:
    days: list                                      # local dates, Monday first
    deliveries: list[Delivery]                      # due in those days, every state
    free_slots: dict[str, list[datetime]]           # channel -> its untaken slot moments in the range


def calendar(settings: Settings, store, start, days: int = 7) -> Week:
    """What is due from local date `start` for `days` days, and each channel's free slots in it."""
    from datetime import timedelta
    from postbot.times import localize, slot_times

    zone = settings.zone()
    first = localize(datetime.combine(start, datetime.min.time()), zone, "calendar day")
    last = localize(datetime.combine(start + timedelta(days=days), datetime.min.time()), zone, "calendar day")
    deliveries = store.between(first.astimezone(UTC), last.astimezone(UTC))
    free: dict[str, list[datetime]] = {}
    for channel in settings.channels:
        if not channel.slots:
            continue
        taken = {d.due_at for d in deliveries if d.channel == channel.name and d.state is not State.CANCELLED}
        moments = slot_times(parse_slots(channel.slots, channel.var("SLOTS")), first - timedelta(seconds=1), zone, days + 1)
        free[channel.name] = [m for m in moments if m < last and m not in taken]
    return Week([start + timedelta(days=i) for i in range(days)], deliveries, free)

# ---- status ----------------------------------------------------------------------------------
@dataclass
class ChannelStatus:
    name: str
    kind: str
    platform: str
    ready: bool = True
    detail: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Status:
    channels: list[ChannelStatus]
    counts: dict[str, int]                          # every state, 0 included
    next_due: datetime | None
    recent_failures: list[Delivery]
    unknown: list[Delivery]                         # may or may not have been published: a human decides
    holds: dict[str, tuple[datetime, str]]          # channel -> (until, reason)
    feeds: list[tuple[Feed, dict[str, int]]] = field(default_factory=list)   # each with its item counts
    notices: list[tuple[datetime, str, str]] = field(default_factory=list)   # (at, subject, message)
    daemons: list[tuple[str, datetime, bool]] = field(default_factory=list)   # (worker, last heartbeat, alive)

    @property
    def ready(self) -> bool:
        return all(channel.ready for channel in self.channels)


async def check_channels(settings: Settings, store, *, offline: bool = False) -> list[ChannelStatus]:
    """Each channel's settings, and unless offline its credentials (one cheap call each)."""
    import asyncio

    from postbot.redact import redact

    entries: list[ChannelStatus] = []
    checks = []
    client = None
    if not offline:
        import httpx
        client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    try:
        for channel in settings.channels:
            sender = make_sender(channel, store=store, settings=settings)
            entry = ChannelStatus(channel.name, channel.kind, channel.platform)
            missing = sender.missing_settings()
            if missing:
                entry.ready, entry.detail = False, f"set {', '.join(missing)}"
            elif client is not None:
                checks.append((entry, sender.check(client)))
            entries.append(entry)
        results = await asyncio.gather(*(check for _, check in checks), return_exceptions=True)
        for (entry, _), result in zip(checks, results):
            if isinstance(result, BaseException):
                entry.ready, entry.detail = False, redact(str(result))
            else:
                entry.detail = str(result)
                entry.warnings = list(getattr(result, "warnings", []))
    finally:
        if client is not None:
            await client.aclose()
    return entries


def status(settings: Settings, store, now: datetime | None = None, *, offline: bool = False) -> Status:
    """Channels and their credentials, and the queue at a glance."""
    import asyncio

    now = now or utcnow()
    channels = asyncio.run(check_channels(settings, store, offline=offline))
    counts = store.counts()
    return Status(channels=channels, counts={s.value: counts.get(s.value, 0) for s in State},
                  next_due=store.next_run_at(now), recent_failures=store.list(State.FAILED, limit=10),
                  unknown=store.list(State.UNKNOWN, limit=100), holds=store.holds(now),
                  feeds=list_feeds(store), notices=store.notices(limit=10), daemons=daemons(settings, store, now))


def daemons(settings: Settings, store, now: datetime) -> list[tuple[str, datetime, bool]]:
    """Daemons that sent a heartbeat within the last day, newest first; alive if one came within
    two lease renewals (a daemon renews every third of POSTBOT_LEASE_SECONDS)."""
    from datetime import timedelta
    from postbot.store.base import HEARTBEATS

    alive_within = timedelta(seconds=max(1.0, settings.lease_seconds / 3) * 2 + 5)
    seen = []
    for worker, beat in store.state_items(HEARTBEATS).items():
        at = datetime.fromisoformat(beat["at"])
        if now - at < timedelta(days=1):
            seen.append((worker, at, now - at <= alive_within))
    return sorted(seen, key=lambda entry: entry[1], reverse=True)


# ---- publishing ------------------------------------------------------------------------------
@dataclass
class Due:
    deliveries: list[Delivery]          # due now, in due order
    next_at: datetime | None            # when something is next due, if nothing is now


def due_now(store, now: datetime | None = None) -> Due:
    """What `run --once` would send now, changing nothing (`run --dry-run`)."""
    now = now or utcnow()
    due = [d for d in store.list(State.SCHEDULED) if (d.next_attempt_at or d.due_at) <= now]
    return Due(due, None if due else store.next_run_at(now))


# `run --once` exit codes, for cron and systemd (README "Exit codes").
EXIT_PUBLISHED = 0      # everything due was published, or nothing was due
EXIT_NEEDS_YOU = 1      # a delivery failed or became unknown: see `postbot status`
EXIT_RETRYING = 75      # nothing lost, but a delivery waits for a retry or a rate limit (EX_TEMPFAIL)


@dataclass
class RunOnce:
    published: int
    counts: dict[str, int]              # the queue afterwards, per state
    sources: list[str] = field(default_factory=list)    # what polling feeds and watched folders did
    outcomes: dict[str, int] = field(default_factory=dict)   # this run: published, retry, rate_limited, failed, unknown

    @property
    def exit_code(self) -> int:
        if self.outcomes.get("failed") or self.outcomes.get("unknown"):
            return EXIT_NEEDS_YOU
        if self.outcomes.get("retry") or self.outcomes.get("rate_limited"):
            return EXIT_RETRYING
        return EXIT_PUBLISHED


def run_once(settings: Settings, store, *, watch: list[Path] | tuple[Path, ...] = ()) -> RunOnce:
    """Poll due feeds and watched folders, then publish everything due now through the daemon's
    own path (cron, tests). Each retry and failure is logged as it happens; the result says what
    became of every delivery."""
    import asyncio

    from postbot.runner import Runner
    from postbot.sources import Sources

    sources = Sources(settings, store, watch=list(watch))
    try:
        polled = sources.tick(utcnow())
    finally:
        sources.close()
    runner = Runner(store, settings)

    async def once() -> None:
        try:
            await runner.run_once()
        finally:
            await runner.close()
    asyncio.run(once())
    return RunOnce(runner.published, store.counts(), polled, dict(runner.tally))


def serve(settings: Settings, store, *, watch: list[Path] | tuple[Path, ...] = ()) -> None:
    """The daemon: poll feeds and watched folders, publish each delivery when it is due, until stopped."""
    import asyncio

    asyncio.run(daemon(settings, store, watch=watch).serve())


def daemon(settings: Settings, store, *, watch: list[Path] | tuple[Path, ...] = ()):
    """The daemon `postbot run` serves (and `postbot serve --with-daemon` beside the dashboard)."""
    from postbot.daemon import Daemon
    from postbot.runner import Runner
    from postbot.sources import Sources

    return Daemon(Runner(store, settings), store, sources=Sources(settings, store, watch=list(watch)))


# ---- feeds: the use cases live beside the poller; a face calls them from here -----------------
from postbot.sources.feeds import FeedCheck, add_feed, check_feed, find_feed, list_feeds, remove_feed  # noqa: E402,F401


# ---- connect ---------------------------------------------------------------------------------
@dataclass
class ConnectResult:
    channel: str
    platform: str
    who: str                             # the account as the platform named it
    written: list[str]                   # variables set in the env file (names only, never values)
    env_file: Path
    notes: list[str] = field(default_factory=list)


def connect(platform: str, name: str | None, *, env_file: Path, environ, term,
            timeout: float = 30.0) -> ConnectResult:
    """Run the guided set-up for `platform`, verify the credential with the platform, then write the
    channel's settings and its POSTBOT_CHANNELS entry into `env_file` (0600, other lines kept).
    Nothing is written unless verification passed. `environ` is the real environment (it wins over
    the file, as everywhere in postbot)."""
    import asyncio

    import httpx

    from postbot.config import _NAME, _channel_settings
    from postbot.connect import flow_for
    from postbot.connect.envfile import read_settings, with_channel, write_settings

    platform = platform.strip().lower()
    name = (name or platform).strip().lower()
    if not _NAME.match(name):
        raise ConfigError(f"--name {name!r} is not a valid channel name; use lowercase letters, digits, '-' or '_', "
                          f"starting with a letter")
    flow = flow_for(platform)
    in_file = read_settings(env_file)
    merged = {**in_file, **environ}
    listed = {part.partition("=")[0].strip().lower(): (part.partition("=")[2].strip().lower()
                                                       or part.partition("=")[0].strip().lower())
              for part in merged.get("POSTBOT_CHANNELS", "").split(",") if part.strip()}
    if listed.get(name, platform) != platform:
        raise ConfigError(f"channel {name!r} is already a {listed[name]} channel in POSTBOT_CHANNELS; "
                          f"pick another with --name")
    channel = Channel(name=name, kind=platform, platform=platform, settings=_channel_settings(merged, name))

    async def run():
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0)) as client:
            return await flow(term, channel, client)

    connected = asyncio.run(run())
    updates = {channel.var(key): value for key, value in connected.settings.items()}
    base = in_file["POSTBOT_CHANNELS"] if "POSTBOT_CHANNELS" in in_file else environ.get("POSTBOT_CHANNELS", "")
    updates["POSTBOT_CHANNELS"] = with_channel(base, name, platform)
    write_settings(env_file, updates)
    notes = list(connected.notes)
    shadowed = [var for var in updates if var in environ and var != "POSTBOT_CHANNELS"]
    if shadowed:
        notes.append(f"your environment also sets {', '.join(shadowed)}, which wins over {env_file}; unset it")
    if "POSTBOT_CHANNELS" in environ and name not in listed:
        notes.append(f"your environment's POSTBOT_CHANNELS wins over {env_file}: add {name!r} to it")
    return ConnectResult(name, platform, connected.who, sorted(updates), Path(env_file), notes)
