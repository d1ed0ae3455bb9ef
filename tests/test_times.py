from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from postbot.errors import UsageError
from postbot.times import next_free_slot, parse_slots, parse_when, slot_times

UTC = timezone.utc
LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def take(iterator, count):
    return [next(iterator) for _ in range(count)]


@pytest.mark.parametrize("zone,change_day", [(LONDON, 29), (NEW_YORK, 8)])
def test_slots_keep_their_local_time_across_spring_forward(zone, change_day):
    start = datetime(2026, 3, change_day - 2, 12, tzinfo=UTC)
    moments = take(slot_times(parse_slots("09:00", "X_SLOTS"), start, zone), 4)
    assert [m.astimezone(zone).strftime("%H:%M") for m in moments] == ["09:00"] * 4
    offsets = {m.astimezone(zone).utcoffset() for m in moments}
    assert len(offsets) == 2                                  # the UTC instant moved, the wall clock did not


@pytest.mark.parametrize("zone,day", [(LONDON, datetime(2026, 10, 23, tzinfo=UTC)),
                                      (NEW_YORK, datetime(2026, 10, 30, tzinfo=UTC))])
def test_slots_keep_their_local_time_across_fall_back(zone, day):
    moments = take(slot_times(parse_slots("mon-sun 17:30", "X_SLOTS"), day, zone), 10)
    assert {m.astimezone(zone).strftime("%H:%M") for m in moments} == {"17:30"}


def test_slot_in_the_skipped_hour_is_skipped():
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    moments = take(slot_times(parse_slots("01:30", "X_SLOTS"), start, LONDON), 2)
    assert [m.astimezone(LONDON).date().day for m in moments] == [30, 31]   # 29 March 01:30 does not exist


def test_weekday_ranges_and_groups():
    slots = parse_slots("mon-fri 09:00,17:30; sat 10:00", "X_SLOTS")
    moments = take(slot_times(slots, NOW, LONDON), 5)      # Friday 27 March 2026, noon
    assert [m.astimezone(LONDON).strftime("%a %H:%M") for m in moments] == [
        "Fri 17:30", "Sat 10:00", "Mon 09:00", "Mon 17:30", "Tue 09:00"]


def test_next_free_slot_skips_taken_ones():
    slots = parse_slots("09:00", "X_SLOTS")
    first = next(slot_times(slots, NOW, LONDON))
    second = next_free_slot(slots, NOW, LONDON, {first})
    assert second.astimezone(LONDON).strftime("%d %H:%M") == "29 09:00"   # across the DST change, still 09:00


@pytest.mark.parametrize("bad", ["9am", "mon-xyz 09:00", "", "25:00"])
def test_bad_slots_name_the_variable(bad):
    with pytest.raises(UsageError, match="X_SLOTS"):
        parse_slots(bad, "X_SLOTS")


def test_when_forms():
    assert parse_when("now", NOW, LONDON) == NOW
    assert parse_when("+90m", NOW, LONDON) == NOW + timedelta(minutes=90)
    assert parse_when("+2h", NOW, LONDON) == NOW + timedelta(hours=2)
    assert parse_when("+1d", NOW, LONDON) == NOW + timedelta(days=1)
    assert parse_when("next", NOW, LONDON) is None
    # Local time in the configured zone when no offset is given (London is on BST from 29 March).
    assert parse_when("2026-04-01T09:00", NOW, LONDON) == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    assert parse_when("2026-04-01T09:00-05:00", NOW, LONDON) == datetime(2026, 4, 1, 14, 0, tzinfo=UTC)


def test_when_refuses_the_past_and_dst_gaps_with_a_fix():
    with pytest.raises(UsageError, match="in the past"):
        parse_when("2026-03-01T09:00", NOW, LONDON)
    with pytest.raises(UsageError, match="does not exist in Europe/London"):
        parse_when("2026-03-29T01:30", NOW, LONDON)
    with pytest.raises(UsageError, match="does not exist in America/New_York"):
        parse_when("2027-03-14T02:30", NOW, NEW_YORK)
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_when("tomorrow-ish", NOW, LONDON)
