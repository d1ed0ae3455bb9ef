"""Times as users type them, and posting slots, in the configured zone; UTC inside."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from postbot.errors import UsageError

UTC = timezone.utc
_RELATIVE = re.compile(r"^\+(\d+)\s*([mhd])$")
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def localize(naive: datetime, zone: ZoneInfo, what: str) -> datetime:
    """Attach a zone to a wall-clock time, refusing times a DST change skips."""
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        raise UsageError(f"{what}: {naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks "
                         f"skip it for daylight saving time); pick another time or give a UTC offset")
    return aware


# Nothing is scheduled further ahead: year 9999 overflows on the way to UTC or into the store.
MAX_YEARS_AHEAD = 10
MAX_AHEAD = timedelta(days=366 * MAX_YEARS_AHEAD)


def parse_when(value: str, now: datetime, zone: ZoneInfo, *, what: str = "--at",
               allow_past: bool = False) -> datetime | None:
    """ISO 8601 (local when it has no offset), 'now', '+90m'/'+2h'/'+1d'. 'next' returns None:
    the caller picks each channel's next free slot."""
    text = value.strip().lower()
    if text == "next":
        return None
    if text == "now":
        return now
    too_far = (f"{what}: {value!r} is more than {MAX_YEARS_AHEAD} years ahead; pick a nearer time, "
               f"e.g. +7d or 2026-12-01T09:00")
    match = _RELATIVE.match(text)
    if match:
        try:
            moment = now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:           # +99999999999d is past what a datetime holds
            raise UsageError(too_far) from None
        if moment > now + MAX_AHEAD:
            raise UsageError(too_far)
        return moment
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not a time; use ISO 8601 like 2026-12-01T09:00 "
                         f"(local to the configured time zone), now, +90m, +2h, +1d or next") from None
    try:
        moment = parsed.astimezone(UTC) if parsed.tzinfo else localize(parsed, zone, what).astimezone(UTC)
    except OverflowError:               # 9999-12-31T23:59 west of UTC is in the year 10000
        raise UsageError(too_far) from None
    if moment > now + MAX_AHEAD:
        raise UsageError(too_far)
    if not allow_past and moment < now - timedelta(seconds=60):
        raise UsageError(f"{what}: {value} is in the past (now is "
                         f"{now.astimezone(zone):%Y-%m-%d %H:%M %Z}); pick a later time or use now")
    return moment


@dataclass(frozen=True)
class Slot:
    weekdays: frozenset[int]
    at: time


def parse_slots(spec: str, variable: str) -> list[Slot]:
    """'mon-fri 09:00,17:30; sat 10:00' -> slots. Days are optional ('09:00' means every day)."""
    slots: list[Slot] = []
    for group in filter(None, (g.strip() for g in spec.split(";"))):
        days_part, _, times_part = group.rpartition(" ")
        weekdays = _parse_days(days_part.strip(), variable) if days_part.strip() else frozenset(range(7))
        for raw in filter(None, (t.strip() for t in times_part.split(","))):
            try:
                hour, minute = (int(x) for x in raw.split(":"))
                slots.append(Slot(weekdays, time(hour, minute)))
            except ValueError:
                raise UsageError(f"{variable}: {raw!r} is not a time of day; write HH:MM, e.g. "
                                 f"{variable}='mon-fri 09:00,17:30; sat 10:00'") from None
    if not slots:
        raise UsageError(f"{variable} is empty; e.g. {variable}='mon-fri 09:00,17:30; sat 10:00'")
    return slots


def _parse_days(text: str, variable: str) -> frozenset[int]:
    days: set[int] = set()
    for item in filter(None, (d.strip().lower()[:3] if "-" not in d else d.strip().lower()
                              for d in text.split(","))):
        first, _, last = item.partition("-")
        try:
            start = _DAYS.index(first[:3])
            end = _DAYS.index(last[:3]) if last else start
        except ValueError:
            raise UsageError(f"{variable}: {item!r} is not a day; use mon, tue, wed, thu, fri, sat, sun "
                             f"or a range like mon-fri") from None
        day = start
        while True:
            days.add(day)
            if day == end:
                break
            day = (day + 1) % 7
    return frozenset(days)


def slot_times(slots: list[Slot], after: datetime, zone: ZoneInfo, days: int = 400) -> Iterable[datetime]:
    """Slot moments after `after`, in order. A slot keeps its wall-clock time across DST changes;
    one that falls into a skipped hour is skipped."""
    local_day: date = after.astimezone(zone).date()
    for offset in range(days):
        day = local_day + timedelta(days=offset)
        moments = []
        for slot in slots:
            if day.weekday() not in slot.weekdays:
                continue
            naive = datetime.combine(day, slot.at)
            try:
                moment = localize(naive, zone, "slot")
            except UsageError:
                continue
            moments.append(moment.astimezone(UTC))
        for moment in sorted(set(moments)):
            if moment > after:
                yield moment


def next_free_slot(slots: list[Slot], after: datetime, zone: ZoneInfo, taken: set[datetime]) -> datetime:
    for moment in slot_times(slots, after, zone):
        if moment not in taken:
            return moment
    raise UsageError("no free posting slot in the next 400 days; add slots or use --at")


def describe_delta(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else "",
             f"{seconds}s" if seconds and not days else ""]
    return " ".join(p for p in parts if p) or "0s"
