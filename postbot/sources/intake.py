"""Queueing what sources found: each remembered item becomes a post queued into its channels'
next free slots, through the same plan-and-queue path as `postbot queue`.

An item is queued in the transaction that marks it `queued` (store.add_post(source_item=...)),
so a crash before that commit leaves it `new` for the next pass, and a crash after it leaves
nothing to redo: no item is lost and none is queued twice, even with several daemons.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable

from postbot.config import Settings
from postbot.errors import UsageError
from postbot.models import Channel, Delivery, Post, SourceItem

log = logging.getLogger("postbot.sources")

# When neither the channel (<NAME>_SLOTS) nor the source sets slots, items still trickle out:
# three a day per channel rather than all at once.
DEFAULT_SLOTS = "09:00,13:00,17:00"


@dataclass
class Intake:
    """What one pass over a source's pending items did."""

    queued: list[tuple[SourceItem, list[Delivery]]] = field(default_factory=list)
    failed: list[tuple[SourceItem, str]] = field(default_factory=list)
    waiting: list[tuple[SourceItem, str]] = field(default_factory=list)     # a setting must be fixed first

    def merge(self, other: "Intake") -> None:
        self.queued += other.queued
        self.failed += other.failed
        self.waiting += other.waiting

    def summary(self) -> str:
        parts = [f"{len(self.queued)} queued"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.waiting:
            parts.append(f"{len(self.waiting)} waiting: {self.waiting[0][1]}")
        return ", ".join(parts)


def source_channels(settings: Settings, names: list[str] | None, *, slots: str | None = None,
                    template: str | None = None) -> list[Channel]:
    """The channels a source posts to, each with the slots its items trickle into."""
    from postbot.app import select_channels

    return [replace(channel, slots=slots or channel.slots or DEFAULT_SLOTS, template=template or channel.template)
            for channel in select_channels(settings, names)]


def queue_pending(settings: Settings, store, source: str, now: datetime, *, channels: list[Channel] | None,
                  make_post: Callable[[SourceItem], Post], renderer=None) -> Intake:
    """Queue every `new` item of `source`, oldest first, each into the next free slot per channel.
    channels=None: each post's own `channels:`, else every configured channel."""
    from postbot.app import add_with_reshares, plan
    from postbot.render import Renderer
    from postbot.store.sources import ItemTaken

    renderer = renderer or Renderer(settings.templates_dir, settings.llm, sandbox=settings.template_sandbox)
    intake = Intake()
    pending = store.pending_items(source)
    missing = _missing_settings(channels or source_channels(settings, None), store, settings) if pending else None
    if missing:
        # Not the items' fault: they stay new and go out once the settings are there.
        intake.waiting = [(item, missing) for item in pending]
        log.error("%s: %d item(s) wait: %s", source, len(pending), missing)
        return intake
    for item in pending:
        try:
            post = make_post(item)
            targets = channels if channels is not None else source_channels(settings, post.channels)
            planned = plan(post, targets, settings, at=None, now=now, store=store, renderer=renderer)
            deliveries = add_with_reshares(settings, store, post, planned, now, renderer=renderer,
                                           source_item=item.id)
        except ItemTaken:
            continue                                    # another daemon queued it a moment ago
        except UsageError as exc:                      # the item cannot go out as it is (refused, too long)
            store.fail_item(item.id, str(exc))
            store.add_notice(source, f"{item.title} was not queued: {exc}", now)     # shown by `status`
            intake.failed.append((item, str(exc)))
            log.error("%s: %s cannot be queued: %s", source, item.title, exc)
            continue
        intake.queued.append((item, deliveries))
        log.info("%s: queued %r for %s", source, item.title,
                 ", ".join(f"{d.channel} at {d.due_at:%Y-%m-%d %H:%M}Z" for d in deliveries))
    return intake


def _missing_settings(channels: list[Channel], store, settings: Settings) -> str | None:
    from postbot.platforms import make_sender

    problems = []
    for channel in channels:
        missing = make_sender(channel, store=store, settings=settings).missing_settings()
        if missing:
            problems.append(f"channel {channel.name}: set {', '.join(missing)} (see .env.example)")
    return "; ".join(problems) or None
