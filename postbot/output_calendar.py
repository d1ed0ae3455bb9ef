"""Deliveries as a calendar: an iCalendar (RFC 5545) file for calendar apps, its JSON and text for the
CLI. Formatting only: the entries come from app.calendar_entries.

In the iCalendar file a post going out to several networks at one moment is one event, as it is one
card on the dashboard's calendar (ten identical events would bury the user's own day): UID from the
post and the moment (stable across exports, so a subscribed calendar updates the event instead of adding
another), DTSTART at the due time in POSTBOT_TIMEZONE with that zone's VTIMEZONE, 15 minutes long,
SUMMARY `<post title> · <channels>` (plus how many failed or are unknown), DESCRIPTION a block per
delivery with its state, the published post's URL and any error. JSON and text stay one line per
delivery, for scripts. The `icalendar` library is imported here only, by the export and the feed.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from postbot.app.week import by_moment
from postbot.models import State
from postbot.output import local

EVENT_LENGTH = timedelta(minutes=15)     # a point in time; apps hide or squash zero-length events
REFRESH = timedelta(minutes=15)          # how often a subscribed app should fetch the feed again
NEEDS_YOU = (State.FAILED, State.UNKNOWN)
NAMED_CHANNELS = 3                       # more than this and the summary counts them instead


def uid(entry) -> str:
    """One delivery's own id (JSON and text)."""
    return f"{entry.delivery.idempotency_key}@postbot"


def group_uid(group: list) -> str:
    """The event's id: its post and moment, with the post's slug hashed in so that two databases
    exported into one calendar app do not share ids by chance."""
    first = group[0].delivery
    slug = hashlib.sha256(first.post_slug.encode("utf-8")).hexdigest()[:8]
    return f"post-{first.post_id}-{first.due_at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{slug}@postbot"


def groups(entries: list) -> list[list]:
    """Entries of one post due at one moment, together, in due order."""
    return by_moment(entries, lambda entry: entry.delivery)


def summary(group: list) -> str:
    channels = [entry.delivery.channel for entry in group]
    shown = ", ".join(channels) if len(channels) <= NAMED_CHANNELS else f"{len(channels)} networks"
    troubles = [f"{count} {state.value}" for state in NEEDS_YOU
                if (count := sum(entry.delivery.state is state for entry in group))]
    text = f"{group[0].title} · {shown}"
    if not troubles:
        return text
    if len(group) == 1:
        return f"{text} ({group[0].delivery.state.value})"
    return f"{text} ({', '.join(troubles)})"


def description(group: list, link_base: str | None = None) -> str:
    blocks = []
    for entry in group:
        delivery = entry.delivery
        lines = [f"{delivery.channel}: {delivery.state.value}"]
        if delivery.remote_url:
            lines.append(f"  URL: {delivery.remote_url}")
        if delivery.error and delivery.state is not State.PUBLISHED:
            lines.append(f"  Error: {delivery.error}")
        page = f"{link_base.rstrip('/')}/deliveries/{delivery.id}" if link_base else f"postbot show {delivery.id}"
        lines.append(f"  Delivery {delivery.id}: {page}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def ics(entries: list, settings, now: datetime, *, link_base: str | None = None) -> bytes:
    """The iCalendar file. `link_base` (the dashboard's address) adds a link to each delivery's page."""
    from icalendar import Calendar, Event

    from postbot import __version__

    zone = settings.zone()
    calendar = Calendar()
    calendar.add("prodid", f"-//postbot//postbot {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "postbot")
    calendar.add("x-wr-timezone", settings.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")             # the same, for apps that read only this one
    stamp = now.astimezone(timezone.utc)
    for group in groups(entries):
        event = Event()
        event.add("uid", group_uid(group))
        event.add("dtstamp", stamp)
        start = group[0].delivery.due_at.astimezone(zone)
        event.add("dtstart", start)
        event.add("dtend", start + EVENT_LENGTH)
        event.add("summary", summary(group))
        event.add("description", description(group, link_base))
        urls = [entry.delivery.remote_url for entry in group if entry.delivery.remote_url]
        if len(urls) == 1:
            event.add("url", urls[0])
        published = all(entry.delivery.state is State.PUBLISHED for entry in group)
        event.add("status", "CONFIRMED" if published else "TENTATIVE")
        event.add("categories", ["postbot", *(entry.delivery.channel for entry in group)])
        calendar.add_component(event)
    if entries:
        # VTIMEZONE with the zone's transitions over the span the events cover (a year around them).
        first = min(e.delivery.due_at for e in entries).astimezone(zone).date() - timedelta(days=366)
        last = max(e.delivery.due_at for e in entries).astimezone(zone).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()


def entries_json(entries: list, settings) -> list[dict[str, Any]]:
    """Each delivery's own JSON shape, with its calendar uid, its post's title and its local start."""
    zone = settings.zone()
    return [{"uid": uid(e)} | e.delivery.to_json()
            | {"title": e.title, "start": e.delivery.due_at.astimezone(zone).isoformat()} for e in entries]


def entries_text(entries: list, settings) -> str:
    if not entries:
        return "nothing scheduled, published or failed in this range"
    lines = []
    for entry in entries:
        delivery = entry.delivery
        link = f"  {delivery.remote_url}" if delivery.remote_url else ""
        lines.append(f"{local(delivery.due_at, settings, seconds=False)}  {delivery.state.value:<10} "
                     f"{delivery.channel:<12} {entry.title}{link}")
    return "\n".join(lines)
