"""Queueing: a post rendered, timed and checked for every channel, then stored with its re-shares in one go."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from postbot.app.channels import channel_rules, open_store, select_channels, utcnow
from postbot.app.previews import Preview
from postbot.config import Settings
from postbot.errors import ConfigError, UsageError
from postbot.models import Channel, Delivery, Post, Render
from postbot.platforms import make_sender
from postbot.render import Renderer
from postbot.times import next_free_slot, parse_slots, parse_when


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
    batches = []
    for one, its_planned in [(post, planned)] + [(r.post, r.planned) for r in reshares]:
        if not its_planned:
            raise UsageError("no channel to queue to")
        batches.append(post_batch(one, its_planned))
    return store.add_posts(batches, now=now, source_item=source_item)


def post_batch(post: Post, planned: list[Planned], keys: list[str] | None = None) -> dict[str, Any]:
    """The post as store.add_posts takes it: its snapshot and one delivery per planned channel, each
    with its idempotency key (a fresh one unless `keys` gives them, in the same order)."""
    import uuid

    keys = keys or [uuid.uuid4().hex for _ in planned]
    return {"slug": post.slug, "title": post.title, "source": str(Path(post.source)), "snapshot": post.to_dict(),
            "deliveries": [{"channel": p.channel.name, "platform": p.render.platform, "due_at": p.due_at,
                            "parts": p.render.parts, "idempotency_key": key} for p, key in zip(planned, keys)]}


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
