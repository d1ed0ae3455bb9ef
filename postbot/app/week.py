"""The calendar: what is due in a range of local days and each channel's free posting slots in it (the
dashboard's page), and every delivery worth seeing in a calendar app (the iCalendar export and feed)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from postbot.app.channels import UTC
from postbot.config import Settings
from postbot.errors import UsageError
from postbot.models import Delivery, State
from postbot.times import parse_slots

log = logging.getLogger("postbot.calendar")


@dataclass
class Week:
    days: list                                      # local dates, Monday first
    deliveries: list[Delivery]                      # due in those days, every state
    free_slots: dict[str, list[datetime]]           # channel -> its untaken slot moments in the range
    titles: dict[int, str]                          # post id -> its title


def by_moment(items: list, delivery: Callable[[Any], Delivery] = lambda item: item) -> list[list]:
    """Items (deliveries, or what `delivery` finds one in) of one post due at one moment, together: a post
    going to ten networks is one card or event, not ten. Items in due order give groups in due order."""
    groups: dict[tuple, list] = {}
    for item in items:
        found = delivery(item)
        groups.setdefault((found.due_at, found.post_id), []).append(item)
    return list(groups.values())


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
    return Week([start + timedelta(days=i) for i in range(days)], deliveries, free,
                store.post_titles({d.post_id for d in deliveries}))


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


def calendar_entries(settings: Settings, store, now: datetime, since: str | None = None, *,
                     since_option: str = "--since") -> list[CalendarEntry]:
    """Deliveries due from local date `since` (YYYY-MM-DD, given as `since_option`; default
    DEFAULT_DAYS_BACK days before `now`) onwards, in due order, without cancelled ones, each with its
    post's title. Past EXPORT_LIMIT the oldest are left out (a calendar app needs what is to come most),
    with a warning saying from when it starts. A `since` that is not a date is a UsageError."""
    zone = settings.zone()
    first_day = _date(since, since_option) if since else now.astimezone(zone).date() - timedelta(days=DEFAULT_DAYS_BACK)
    # Local midnight (where a DST change skips midnight, the zone's rule moves it, which is fine here).
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    deliveries = store.between(start, None, EXPORT_LIMIT + 1, states=EXPORTED_STATES, last=True)
    if len(deliveries) > EXPORT_LIMIT:
        deliveries = deliveries[1:]
        log.warning("calendar: more than %d deliveries are due from %s on; it starts at %s instead: give a later "
                    "date (--since, or since= for the feed)", EXPORT_LIMIT, first_day.isoformat(),
                    deliveries[0].due_at.astimezone(zone).isoformat(timespec="minutes"))
    titles = store.post_titles({d.post_id for d in deliveries})
    return [CalendarEntry(d, titles.get(d.post_id) or d.post_slug) for d in deliveries]


def _date(value: str, option: str) -> date:
    """`value` as a date, or a UsageError naming it as it was given (`--since X`, `since=X`)."""
    given = option if option.endswith("=") else option + " "
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{given}{value!r} is not a date; e.g. {given}2026-11-01") from None
