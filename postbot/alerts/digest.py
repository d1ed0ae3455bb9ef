"""How alerts are told: at most one digest per kind per window (later events wait for the next one),
each alert channel told only of events about others, in a few lines a phone shows whole. Pure."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Sequence

from postbot.models import AlertEvent, Post

MAX_LINES = 20          # a digest longer than this says how many more `postbot status` shows
SOURCE = "postbot alerts"
SLUG = "postbot-alert"

_TITLES = {            # (one event, several)
    "failed": ("a delivery failed", "{n} deliveries failed"),
    "unknown": ("a delivery may or may not have been published", "{n} deliveries may or may not have been published"),
    "credentials": ("a credential check failed", "{n} credential checks failed"),
    "token": ("a token expires soon or has expired", "{n} tokens expire soon or have expired"),
    "crash": ("restarted after a crash", "restarted after a crash ({n} daemons did not stop cleanly)"),
}
_ACTIONS = {
    "failed": "Fix the cause, then `postbot retry ID` (or `postbot cancel ID`).",
    "unknown": "Check the channel, then `postbot retry ID`, `postbot resolve ID` or `postbot cancel ID`.",
    "credentials": "Fix the settings named above, then check with `postbot status`.",
    "token": "Renew the token as said above (`postbot connect` where it exists), then `postbot status`.",
    "crash": "Deliveries it was sending were taken over; `postbot status` lists any that need a decision.",
}


def due(pending: Sequence[AlertEvent], last_sent: dict[str, datetime], now: datetime,
        window: timedelta) -> tuple[dict[str, list[AlertEvent]], datetime | None]:
    """The pending events whose kind may send a digest now (none sent within `window`), by kind, and when
    the earliest other kind may: the daemon wakes then."""
    ready: dict[str, list[AlertEvent]] = {}
    later: list[datetime] = []
    for event in pending:
        last = last_sent.get(event.kind)
        if last is None or now >= last + window:
            ready.setdefault(event.kind, []).append(event)
        else:
            later.append(last + window)
    return ready, min(later, default=None)


def for_target(events: Sequence[AlertEvent], target: str) -> list[AlertEvent]:
    """What one alert channel is told: not its own failures (it may be what is broken, and telling it
    would be an alert about an alert)."""
    return [event for event in events if event.subject != target]


def compose(kind: str, events: Sequence[AlertEvent], localize=lambda text: text) -> Post:
    """The digest as a post: a title saying what happened and a body of one line per event, which the
    channel's own template and rules render like any other post's text."""
    one, several = _TITLES[kind]
    title = "postbot: " + (one if len(events) == 1 else several.format(n=len(events)))
    lines = [f"- {localize(event.message)}" for event in events[:MAX_LINES]]
    if len(events) > MAX_LINES:
        lines.append(f"- and {len(events) - MAX_LINES} more: `postbot status` lists them")
    text = "\n".join(lines) + "\n\n" + _ACTIONS[kind]
    return Post(source=SOURCE, slug=SLUG, title=title, body=text, teaser=text)


def delivery_key(kind: str, events: Sequence[AlertEvent], channel: str) -> str:
    """The digest delivery's idempotency key, made from what it carries: each event is in one digest."""
    digest = hashlib.sha256("\n".join(sorted(e.key for e in events)).encode()).hexdigest()[:24]
    return f"alert-{kind}-{digest}-{channel}"
