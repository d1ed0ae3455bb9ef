"""The calendar: what is due in a range of local days, and each channel's free posting slots in it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
