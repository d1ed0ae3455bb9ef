"""The calendar: what is due in a range of local days and each channel's free posting slots in it (the
dashboard's page), and every delivery worth seeing in a calendar app (the iCalendar export and feed)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from postbot.app.channels import UTC
from postbot.config import Settings
from postbot.models import Delivery, State
from postbot.times import parse_slots


@dataclass
class Week:
    days: list                                      # local dates, Monday first
    deliveries: list[Delivery]                      # due in those days, every state
    free_slots: dict[str, list[datetime]]           # channel -> its untaken slot moments in the range


def calendar(settings: Settings, store, start, days: int = 7) -> Week:
    """What is due from local date `start` for `days` days, and each channel's free slots in it."""
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


# What a calendar app shows: what will go out, what went out, and what needs a human (failed and
# unknown: a gap in someone's calendar would hide exactly the silent failure they must notice).
# Cancelled deliveries will never happen and are left out.
EXPORTED_STATES = (State.SCHEDULED, State.PUBLISHING, State.PUBLISHED, State.FAILED, State.UNKNOWN)
DEFAULT_DAYS_BACK = 90
EXPORT_LIMIT = 5000


@dataclass
class CalendarEntry:
    delivery: Delivery
    title: str                                      # the post's title


def calendar_entries(settings: Settings, store, now: datetime, since: date | None = None) -> list[CalendarEntry]:
    """Deliveries due from local date `since` (default DEFAULT_DAYS_BACK days before `now`) onwards,
    in due order, without cancelled ones, each with its post's title."""
    from postbot.times import MAX_AHEAD

    zone = settings.zone()
    since = since or (now.astimezone(zone).date() - timedelta(days=DEFAULT_DAYS_BACK))
    # Local midnight (where a DST change skips midnight, the zone's rule moves it, which is fine here).
    start = datetime.combine(since, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    # Queueing refuses times further ahead than MAX_AHEAD, so this end leaves nothing out.
    deliveries = [d for d in store.between(start, now + MAX_AHEAD + timedelta(days=1), limit=EXPORT_LIMIT)
                  if d.state in EXPORTED_STATES]
    titles = store.post_titles({d.post_id for d in deliveries})
    return [CalendarEntry(d, titles.get(d.post_id) or d.post_slug) for d in deliveries]
