"""`postbot calendar --ics FILE` and the dashboard's /calendar.ics (issue 13.4): an iCalendar file that
icalendar's parser reads without an error, one event per post and moment holding each of its deliveries
(cancelled ones left out) with a stable UID, the due time in POSTBOT_TIMEZONE on both sides of a DST
change, the post's title and channels, each delivery's state and the published URL."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from postbot.models import State
from postbot.store import open_store
from tests.fakes.webhook import WebhookReceiver
from tests.helpers import NOW, add_delivery, part, settings_for, sqlite_store, write_post
from tests.process import postbot
from tests.web_server import serve_dashboard

LONDON = ZoneInfo("Europe/London")
# Clocks go forward on 28 March 2027 and back on 31 October 2027: 09:00 is GMT, then BST, then GMT.
DST_TIMES = {"2027-03-27T09:00": "+00:00", "2027-03-28T09:00": "+01:00",
             "2027-10-30T09:00": "+01:00", "2027-10-31T09:00": "+00:00"}


def parsed(data: bytes) -> Calendar:
    """The file as icalendar reads it; every component parsed without an error."""
    calendar = Calendar.from_ical(data)
    for component in calendar.walk():
        assert component.errors == [], (component.name, component.errors)
    assert calendar["VERSION"] == "2.0" and "postbot" in str(calendar["PRODID"])
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    return calendar


def events_by_uid(calendar: Calendar) -> dict:
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert len(events) == len(calendar.walk("VEVENT"))           # no UID twice
    return events


def event_of(events: dict, delivery):
    """The one event that lists this delivery (by the `Delivery <id>:` line of its block)."""
    [event] = [e for e in events.values() if f"Delivery {delivery.id}:" in str(e["DESCRIPTION"])]
    return event


def assert_round_trip(calendar: Calendar, deliveries) -> None:
    """Every delivery is in exactly one event, at its due time (to the second, iCalendar's resolution),
    written in Europe/London (TZID) with the offset of that day; an event per post and moment."""
    events = events_by_uid(calendar)
    assert len(events) == len({(d.post_id, d.due_at.replace(microsecond=0)) for d in deliveries})
    for delivery in deliveries:
        event = event_of(events, delivery)
        assert delivery.channel in [str(c) for c in event["CATEGORIES"].cats]
        start = event["DTSTART"]
        due = delivery.due_at.replace(microsecond=0)
        assert start.params["TZID"] == "Europe/London"
        assert start.dt == due                                          # the same instant
        assert start.dt.utcoffset() == due.astimezone(LONDON).utcoffset()
        assert start.dt.replace(tzinfo=None) == due.astimezone(LONDON).replace(tzinfo=None)


# ---- the CLI ---------------------------------------------------------------------------------------
@pytest.fixture
def queued(tmp_path):
    """Four posts around both DST changes on an outbox channel, one cancelled, one published through
    `run --once` and one failed (a receiver that refuses the signature)."""
    receiver = WebhookReceiver(secret="the-receivers-own-secret").start()
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cal.db'}", "POSTBOT_TIMEZONE": "Europe/London",
           "OUTBOX_DIR": str(tmp_path / "outbox"), "POSTBOT_CHANNELS": "x=outbox,hooks=webhook",
           "HOOKS_URL": receiver.hook_url, "HOOKS_SECRET": "not-what-the-receiver-expects"}

    def queue(title: str, at: str, channel: str) -> dict:
        path = write_post(tmp_path, f"{title}. A second sentence follows here.", title=title)
        result = postbot(["queue", str(path), "--at", at, "--channel", channel, "--json"], env, tmp_path)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)[0]

    for number, at in enumerate(DST_TIMES, 1):
        queue(f"Squats {number}", at, "x")
    cancelled = queue("Never mind", "2027-01-05T12:00", "x")
    assert postbot(["cancel", str(cancelled["id"])], env, tmp_path).returncode == 0
    queue("Out already", "now", "x")
    queue("Refused", "now", "hooks")
    assert postbot(["run", "--once"], env, tmp_path).returncode == 1         # one published, one failed
    receiver.stop()
    store = open_store(env["POSTBOT_DATABASE_URL"])
    yield env, store, cancelled
    store.close()


def exported(store):
    return [d for d in store.list() if d.state is not State.CANCELLED]


def test_the_ics_file_parses_and_round_trips_every_time_across_dst(tmp_path, queued):
    env, store, cancelled = queued
    target = tmp_path / "postbot.ics"
    result = postbot(["calendar", "--ics", str(target)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 6 deliveries as 6 events" in result.stdout
    deliveries = exported(store)
    assert sorted(d.state.value for d in deliveries) == ["failed", "published"] + ["scheduled"] * 4
    calendar = parsed(target.read_bytes())
    assert_round_trip(calendar, deliveries)
    events = events_by_uid(calendar)
    offsets = sorted(str(e["DTSTART"].dt.isoformat()) for e in events.values() if str(e["SUMMARY"]).startswith("Squats"))
    assert offsets == [f"{at}:00{offset}" for at, offset in DST_TIMES.items()]
    by_state = {d.state: event_of(events, d) for d in deliveries}
    published = next(d for d in deliveries if d.state is State.PUBLISHED)
    done = by_state[State.PUBLISHED]
    assert str(done["SUMMARY"]) == "Out already · x" and "x: published" in str(done["DESCRIPTION"])
    assert published.remote_url.startswith("file://")                  # the outbox file it went to
    assert f"URL: {published.remote_url}" in str(done["DESCRIPTION"]) and str(done["URL"]) == published.remote_url
    assert str(done["STATUS"]) == "CONFIRMED"
    failed = by_state[State.FAILED]
    assert str(failed["SUMMARY"]) == "Refused · hooks (failed)"
    assert "hooks: failed" in str(failed["DESCRIPTION"]) and "HOOKS_SECRET" in str(failed["DESCRIPTION"])
    assert "not-what-the-receiver-expects" not in target.read_text(encoding="utf-8")
    scheduled = next(e for e in events.values() if str(e["SUMMARY"]) == "Squats 2 · x")
    assert "x: scheduled" in str(scheduled["DESCRIPTION"]) and str(scheduled["STATUS"]) == "TENTATIVE"
    # Exported again: the same UIDs and times, so a subscribed calendar updates instead of duplicating.
    again = postbot(["calendar", "--ics", "-"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert_round_trip(parsed(again.stdout.encode("utf-8")), deliveries)
    assert set(events_by_uid(parsed(again.stdout.encode("utf-8")))) == set(events)


def test_a_post_to_several_networks_at_one_moment_is_one_event_listing_each(tmp_path):
    receiver = WebhookReceiver(secret="the-receivers-own-secret").start()
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cal.db'}", "POSTBOT_TIMEZONE": "Europe/London",
           "OUTBOX_DIR": str(tmp_path / "outbox"),
           "POSTBOT_CHANNELS": "x=outbox,bluesky=outbox,mastodon=outbox,linkedin=outbox,hooks=webhook",
           "HOOKS_URL": receiver.hook_url, "HOOKS_SECRET": "not-what-the-receiver-expects"}
    try:
        path = write_post(tmp_path, "Five squats. A second sentence follows here.", title="Five squats")
        assert postbot(["queue", str(path), "--at", "now"], env, tmp_path).returncode == 0
        assert postbot(["run", "--once"], env, tmp_path).returncode == 1          # four out, the hook refused
        small = write_post(tmp_path, "Lunges. A second sentence follows here.", title="Lunges")
        assert postbot(["queue", str(small), "--at", "2027-01-05T12:00", "--channel", "x,bluesky"],
                       env, tmp_path).returncode == 0
        result = postbot(["calendar", "--ics", "-"], env, tmp_path)
    finally:
        receiver.stop()
    assert result.returncode == 0, result.stderr
    store = open_store(env["POSTBOT_DATABASE_URL"])
    deliveries = store.list()
    store.close()
    calendar = parsed(result.stdout.encode("utf-8"))
    assert_round_trip(calendar, deliveries)
    squats, lunges = sorted(events_by_uid(calendar).values(), key=lambda e: e["DTSTART"].dt)
    assert str(squats["SUMMARY"]) == "Five squats · 5 networks (1 failed)"
    assert str(squats["STATUS"]) == "TENTATIVE" and "URL" not in squats                # five answers, no one URL
    text = str(squats["DESCRIPTION"])
    assert text.count(": published") == 4 and "hooks: failed" in text
    assert str(lunges["SUMMARY"]) == "Lunges · x, bluesky"


def test_calendar_json_gives_each_entry_in_the_local_zone(tmp_path, queued):
    env, store, cancelled = queued
    result = postbot(["calendar", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert cancelled["id"] not in [e["id"] for e in entries] and len(entries) == 6
    squats = {e["title"]: e["start"] for e in entries if e["title"].startswith("Squats")}
    assert sorted(squats.values()) == [f"{at}:00{offset}" for at, offset in DST_TIMES.items()]
    keys = {d.id: d.idempotency_key for d in store.list()}
    assert all(e["uid"] == f"{keys[e['id']]}@postbot" for e in entries)
    # Each entry is the delivery's own JSON shape (`postbot show --json`) plus uid, title and start.
    shapes = {d.id: d.to_json() for d in store.list()}
    assert all(e.items() >= shapes[e["id"]].items() and set(e) - set(shapes[e["id"]]) == {"uid", "title", "start"}
               for e in entries)
    text = postbot(["calendar"], env, tmp_path)
    assert "2027-03-28 09:00 BST" in text.stdout and "2027-03-27 09:00 GMT" in text.stdout
    later = json.loads(postbot(["calendar", "--json", "--since", "2027-03-28"], env, tmp_path).stdout)
    assert [e["start"] for e in later] == ["2027-03-28T09:00:00+01:00", "2027-10-30T09:00:00+01:00",
                                           "2027-10-31T09:00:00+00:00"]


def test_bad_calendar_arguments_exit_2_and_write_nothing(tmp_path, queued):
    env, _, _ = queued
    missing = tmp_path / "no-such-folder" / "postbot.ics"
    result = postbot(["calendar", "--ics", str(missing)], env, tmp_path)
    assert result.returncode == 2 and "no-such-folder" in result.stderr and "Traceback" not in result.stderr
    assert not missing.parent.exists()
    result = postbot(["calendar", "--since", "2027-02-30"], env, tmp_path)
    assert result.returncode == 2 and "--since" in result.stderr and "Traceback" not in result.stderr
    assert "--since '2027-02-30' is not a date; e.g. --since 2026-11-01" in result.stderr
    result = postbot(["calendar", "--ics", "-", "--json"], env, tmp_path)
    assert result.returncode == 2 and "--json" in result.stderr


def test_a_busy_queue_exports_every_delivery_to_come_and_says_when_the_oldest_are_left_out(tmp_path, caplog):
    """Cancelled deliveries are left out before the limit is counted, there is no end date, and past the
    limit the calendar drops its oldest entries (never the ones to come), saying from when it starts."""
    from postbot import app
    from postbot.app.week import EXPORT_LIMIT
    store = sqlite_store(tmp_path)
    settings = settings_for({"POSTBOT_CHANNELS": "x=outbox", "OUTBOX_DIR": str(tmp_path / "outbox")})
    oldest = add_delivery(store, "x", [part("old", {"text": "old"})], slug="old", due=NOW - timedelta(days=30))
    store.cancel(add_delivery(store, "x", [part("no", {"text": "no"})], slug="no", due=NOW - timedelta(days=25)).id, NOW)
    busy = [(oldest.post_id, "x", "outbox", NOW - timedelta(days=20) + timedelta(minutes=i), uuid.uuid4().hex,
             [part("busy", {"text": "busy"})]) for i in range(EXPORT_LIMIT - 2)]
    store.add_many(busy, NOW)
    ahead = add_delivery(store, "x", [part("ahead", {"text": "ahead"})], slug="ahead", due=NOW + timedelta(days=700))
    entries = app.calendar_entries(settings, store, NOW)
    assert len(entries) == EXPORT_LIMIT and not caplog.records
    assert (entries[0].delivery.id, entries[-1].delivery.id) == (oldest.id, ahead.id)
    store.add_many([(oldest.post_id, "x", "outbox", NOW - timedelta(days=10), uuid.uuid4().hex, [part("b", {})])], NOW)
    entries = app.calendar_entries(settings, store, NOW)
    assert len(entries) == EXPORT_LIMIT and entries[-1].delivery.id == ahead.id
    assert oldest.id not in {e.delivery.id for e in entries}
    (warning,) = caplog.records
    assert warning.levelname == "WARNING" and f"more than {EXPORT_LIMIT} deliveries" in warning.getMessage()
    assert "it starts at 2026-11-11T09:00+00:00" in warning.getMessage() and "--since" in warning.getMessage()


# ---- the dashboard's feed ----------------------------------------------------------------------------
def queue_around_dst(board) -> list:
    from postbot import app
    from postbot.posts import load_post
    deliveries = []
    for number, at in enumerate(DST_TIMES, 1):
        path = write_post(board.posts_dir.parent, "Deadlifts, done right. Here is how.", title=f"Deadlifts {number}")
        deliveries += app.queue(board.settings, board.store, load_post(path), ["x"], at=at, now=board.clock.now)
    return deliveries


def test_the_dashboard_serves_the_same_feed_at_calendar_ics(tmp_path):
    server, thread, board = serve_dashboard(tmp_path)
    try:
        deliveries = queue_around_dst(board)
        response = board.client().get("/calendar.ics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
        calendar = parsed(response.content)
        assert_round_trip(calendar, deliveries)
        event = event_of(events_by_uid(calendar), deliveries[0])
        assert str(event["SUMMARY"]) == "Deadlifts 1 · x"
        assert f"{board.url}/deliveries/{deliveries[0].id}" in str(event["DESCRIPTION"])
        assert 'href="/calendar.ics"' in board.client().get("/calendar").text     # offered on the calendar page
        refused = board.client().get("/calendar.ics?since=2027-02-30")
        assert refused.status_code == 400 and refused.text.startswith("since='2027-02-30' is not a date")
    finally:
        server.should_exit = True
        thread.join(10)


def test_with_a_serve_token_the_feed_opens_with_its_own_key_only(tmp_path):
    token = "a-long-random-dashboard-token"
    server, thread, board = serve_dashboard(tmp_path, token=token)
    try:
        deliveries = queue_around_dst(board)
        anonymous = board.client()
        assert anonymous.get("/calendar.ics").status_code == 403
        assert anonymous.get("/calendar.ics", params={"key": token}).status_code == 403   # not the token itself
        assert anonymous.get("/calendar.ics", params={"key": "0" * 64}).status_code == 403
        # A logged-in person finds the subscription address on the calendar page...
        from tests.test_web import CSRF
        person = board.client()
        csrf = CSRF.search(person.get("/login").text).group(1)
        assert person.post("/login", data={"csrf": csrf, "token": token}).status_code == 303
        link = next(line for line in person.get("/calendar").text.splitlines() if 'id="calendar-feed"' in line)
        address = link.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        assert address.startswith("/calendar.ics?key=") and token not in address
        # ...which a calendar app, with no cookie, can read and nothing else.
        app = board.client()
        feed = app.get(address)
        assert feed.status_code == 200
        assert_round_trip(parsed(feed.content), deliveries)
        key = address.split("key=", 1)[1]
        assert app.get(f"/calendar?key={key}").headers["location"] == "/login"
        assert app.post(address).status_code in (403, 405)
    finally:
        server.should_exit = True
        thread.join(10)
