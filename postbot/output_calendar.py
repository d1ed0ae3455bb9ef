"""Deliveries as a calendar: an iCalendar (RFC 5545) file for calendar apps, its JSON and text for the
CLI. Formatting only: the entries come from app.calendar_entries.

Each delivery is one event: UID `<idempotency key>@postbot` (stable across exports, so a subscribed
calendar updates the event instead of adding another), DTSTART at the due time in POSTBOT_TIMEZONE
with that zone's VTIMEZONE, 15 minutes long, SUMMARY `<post title> · <channel>` (plus the state when
it failed or is unknown), DESCRIPTION with the state, the published post's URL and any error.
The `icalendar` library is imported here only, by the export and the dashboard's feed.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from postbot.models import State, iso_utc

EVENT_LENGTH = timedelta(minutes=15)     # a point in time; apps hide or squash zero-length events
REFRESH = timedelta(minutes=15)          # how often a subscribed app should fetch the feed again
NEEDS_YOU = (State.FAILED, State.UNKNOWN)


def uid(entry) -> str:
    return f"{entry.delivery.idempotency_key}@postbot"


def summary(entry) -> str:
    text = f"{entry.title} · {entry.delivery.channel}"
    return f"{text} ({entry.delivery.state.value})" if entry.delivery.state in NEEDS_YOU else text


def description(entry, link: str | None = None) -> str:
    delivery = entry.delivery
    lines = [f"State: {delivery.state.value}", f"Channel: {delivery.channel} ({delivery.platform})"]
    if delivery.remote_url:
        lines.append(f"URL: {delivery.remote_url}")
    if delivery.error and delivery.state is not State.PUBLISHED:
        lines.append(f"Error: {delivery.error}")
    lines.append(f"Delivery: {delivery.id}" + (f" ({link})" if link else f" (postbot show {delivery.id})"))
    return "\n".join(lines)


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
    for entry in entries:
        delivery = entry.delivery
        event = Event()
        event.add("uid", uid(entry))
        event.add("dtstamp", stamp)
        start = delivery.due_at.astimezone(zone)
        event.add("dtstart", start)
        event.add("dtend", start + EVENT_LENGTH)
        event.add("summary", summary(entry))
        link = f"{link_base.rstrip('/')}/deliveries/{delivery.id}" if link_base else None
        event.add("description", description(entry, link))
        if delivery.remote_url:
            event.add("url", delivery.remote_url)
        event.add("status", "CONFIRMED" if delivery.state is State.PUBLISHED else "TENTATIVE")
        event.add("categories", ["postbot", delivery.channel])
        calendar.add_component(event)
    if entries:
        # VTIMEZONE with the zone's transitions over the span the events cover (a year around them).
        first = min(e.delivery.due_at for e in entries).astimezone(zone).date() - timedelta(days=366)
        last = max(e.delivery.due_at for e in entries).astimezone(zone).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()


def entries_json(entries: list, settings) -> list[dict[str, Any]]:
    zone = settings.zone()
    return [{"uid": uid(e), "id": e.delivery.id, "post": e.delivery.post_slug, "title": e.title,
             "channel": e.delivery.channel, "platform": e.delivery.platform, "state": e.delivery.state.value,
             "start": e.delivery.due_at.astimezone(zone).isoformat(), "due_at": iso_utc(e.delivery.due_at),
             "url": e.delivery.remote_url, "error": e.delivery.error} for e in entries]


def entries_text(data: list[dict[str, Any]], settings) -> str:
    if not data:
        return "nothing scheduled, published or failed in this range"
    zone = settings.zone()
    lines = []
    for item in data:
        start = datetime.fromisoformat(item["start"]).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        lines.append(f"{start}  {item['state']:<10} {item['channel']:<12} {item['title']}"
                     + (f"  {item['url']}" if item["url"] else ""))
    return "\n".join(lines)
