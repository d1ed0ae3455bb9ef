"""Queue a post: render and validate it for every channel, pick due times, store it in one go."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from postbot.config import Settings
from postbot.errors import ConfigError, UsageError
from postbot.models import Channel, Delivery, Post, Render
from postbot.publishers import make_publisher
from postbot.publishers.base import Publisher
from postbot.render import Renderer
from postbot.times import next_free_slot, parse_slots, parse_when


def rules_for(channels: list[Channel], store=None) -> dict[str, Publisher]:
    """The rules object per channel, remembering per-channel state (e.g. instance limits) in the store."""
    return {channel.name: make_publisher(channel, rules=True, store=store) for channel in channels}


def load_limits(rules: dict[str, Publisher], channels: list[Channel]) -> list[str]:
    """Ask the platforms whose limits differ per instance (Mastodon) before rendering.
    Only for channels that really publish there; a failure leaves the default, with a warning."""
    wanted = [rules[c.name] for c in channels
              if c.kind == c.platform and type(rules[c.name]).load_limits is not Publisher.load_limits
              and not rules[c.name].missing_settings()]
    if not wanted:
        return []
    import asyncio

    import httpx

    async def fetch() -> list[str]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=3.0)) as client:
            results = await asyncio.gather(*(r.load_limits(client) for r in wanted), return_exceptions=True)
        warnings = []
        for rule, result in zip(wanted, results):
            if isinstance(result, BaseException):
                warnings.append(f"channel {rule.channel.name}: could not read its limits ({result}); "
                                f"using {rule.limit_for()}")
            else:
                warnings.extend(f"channel {rule.channel.name}: {w}" for w in result)
        return warnings
    return asyncio.run(fetch())


def select_channels(settings: Settings, names: list[str] | None, post: Post | None = None) -> list[Channel]:
    wanted = names or (post.channels if post and post.channels else None)
    if not wanted:
        return list(settings.channels)
    return [settings.channel(name) for name in dict.fromkeys(wanted)]


def parts_of(render: Render) -> list[dict]:
    """What the store keeps per part: the exact text and payload, and its links."""
    parts = render.parts or []
    result = []
    for index, part in enumerate(parts):
        result.append({"text": part.text, "length": part.length, "payload": part.payload,
                       "links": render.links if index == 0 else []})
    return result


@dataclass
class Planned:
    channel: Channel
    render: Render
    due_at: datetime


def plan(post: Post, channels: list[Channel], settings: Settings, *, at: str | None, now: datetime,
         store, renderer: Renderer | None = None) -> list[Planned]:
    """Everything that can be wrong is found here, before anything is written."""
    renderer = renderer or Renderer(settings.templates_dir)
    rules = rules_for(channels, store)
    load_limits(rules, channels)
    problems: list[str] = []
    planned: list[Planned] = []
    zone = settings.zone()
    when_text, what = (at, "--at") if at else (post.publish_at, f"{post.source}: publish_at")
    fixed = parse_when(when_text, now, zone, what=what) if when_text else None
    for channel in channels:
        sender = make_publisher(channel, store=store, settings=settings)
        missing = sender.missing_settings()
        if missing:
            problems.append(f"channel {channel.name}: set {', '.join(missing)} (see .env.example)")
            continue
        refusal = sender.refuse(post)
        if refusal:
            problems.append(f"channel {channel.name}: {refusal}")
            continue
        render = renderer.render(post, channel, rules[channel.name])
        if fixed is not None:
            due = fixed
        elif channel.slots:
            slots = parse_slots(channel.slots, channel.var("SLOTS"))
            due = next_free_slot(slots, now, zone, store.taken_slots(channel.name, now))
        else:
            due = now
        planned.append(Planned(channel, render, due))
    if problems:
        raise ConfigError("cannot queue " + post.source + ":\n  " + "\n  ".join(problems))
    return planned


def queue(post: Post, planned: list[Planned], store, now: datetime) -> list[Delivery]:
    items = [{"channel": p.channel.name, "platform": p.render.platform, "due_at": p.due_at,
              "parts": parts_of(p.render), "idempotency_key": uuid.uuid4().hex} for p in planned]
    if not items:
        raise UsageError("no channel to queue to")
    return store.add_post(slug=post.slug, title=post.title, source=str(Path(post.source)),
                          snapshot=post.to_dict(), deliveries=items, now=now)
