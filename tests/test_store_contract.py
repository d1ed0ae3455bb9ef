"""One contract, two backends: every store method behaves the same on SQLite and PostgreSQL.

PostgreSQL runs against a fresh database per test (`fresh_postgres_url` from tests/services.py,
which skips without POSTBOT_TEST_POSTGRES_URL, except under CI=true where it fails)."""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from postbot.errors import StoreError, UsageError
from postbot.models import Attempt, Part, State
from postbot.store import open_store
from tests.process import wait_for

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = 30


# ---- backends ------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    return request.getfixturevalue("fresh_postgres_url")  # from tests/services.py


@pytest.fixture
def empty_store(store_url):
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def store(empty_store):
    empty_store.migrate()
    return empty_store


def part(text: str) -> Part:
    return Part(text, len(text), {"text": text})


def queue(store, channel: str = "a", due: datetime = NOW, *, key: str | None = None, slug: str = "post",
          snapshot: dict | None = None):
    [delivery] = store.add_post(slug=slug, title=slug.title(), source=f"{slug}.md",
                                snapshot=snapshot or {"slug": slug},
                                deliveries=[{"channel": channel, "platform": "generic", "due_at": due,
                                             "parts": [part(f"{slug} on {channel}")],
                                             "idempotency_key": key or uuid.uuid4().hex}], now=NOW)
    return delivery


def scalar(store, sql: str):
    with store.transaction() as cur:
        return store.execute(cur, sql).fetchone()[0]


def claim(store, now: datetime = NOW, worker: str = "w1", **options):
    return store.claim_due(now, worker=worker, lease_seconds=LEASE, **options)


def never_gone(_claimant: str) -> bool:
    return False


# ---- schema --------------------------------------------------------------------------------
ALL_MIGRATIONS = ["0001_initial", "0002_sources", "0003_alerts", "0004_queue_indexes"]


def test_migrate_on_an_empty_database_is_recorded_and_idempotent(empty_store):
    assert empty_store.migrate() == ALL_MIGRATIONS
    assert empty_store.migrate() == []
    with empty_store.transaction() as cur:
        names = [r[0] for r in empty_store.execute(cur, "SELECT name FROM schema_migrations ORDER BY name").fetchall()]
    assert names == ALL_MIGRATIONS
    assert empty_store.counts() == {}


def test_two_processes_migrating_at_once_both_succeed(store_url):
    stores = [open_store(store_url) for _ in range(3)]
    results, errors = [], []

    def migrate(s):
        try:
            results.append(s.migrate())
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    assert sorted(results) == [[], [], ALL_MIGRATIONS]


# ---- adding ----------------------------------------------------------------------------------
def test_add_post_stores_the_snapshot_and_scheduled_deliveries(store):
    later = NOW + timedelta(hours=2)
    deliveries = store.add_post(
        slug="hip-thrust", title="Hip thrust", source="posts/hip-thrust.md",
        snapshot={"slug": "hip-thrust", "title": "Hip thrust", "tags": ["glutes"], "note": "ünïcode ✓"},
        deliveries=[{"channel": "a", "platform": "x", "due_at": NOW, "parts": [part("one"), part("two")],
                     "idempotency_key": "k-a"},
                    {"channel": "b", "platform": "bluesky", "due_at": later, "parts": [part("solo")],
                     "idempotency_key": "k-b"}], now=NOW)
    first, second = deliveries
    assert (first.channel, first.platform, first.due_at, first.state) == ("a", "x", NOW, State.SCHEDULED)
    assert (second.channel, second.platform, second.due_at) == ("b", "bluesky", later)
    assert first.post_id == second.post_id and first.post_slug == "hip-thrust"
    assert [p.text for p in first.parts] == ["one", "two"]
    assert first.parts[0] == part("one")
    assert (first.attempts, first.progress, first.claimed_by, first.lease_until) == (0, {}, None, None)
    assert first.next_attempt_at is None and first.idempotency_key == "k-a"
    assert store.post_snapshot(first.post_id)["note"] == "ünïcode ✓"
    assert store.get(first.id) == first


def test_add_post_is_all_or_nothing(store):
    queue(store, key="taken")
    with pytest.raises((StoreError, sqlite3.IntegrityError)):
        store.add_post(slug="broken", title="Broken", source="broken.md", snapshot={},
                       deliveries=[{"channel": "b", "platform": "generic", "due_at": NOW, "parts": [part("x")],
                                    "idempotency_key": "fresh"},
                                   {"channel": "c", "platform": "generic", "due_at": NOW, "parts": [part("y")],
                                    "idempotency_key": "taken"}], now=NOW)
    assert scalar(store, "SELECT COUNT(*) FROM posts") == 1
    assert [d.idempotency_key for d in store.list()] == ["taken"]
    queue(store, key="fresh")           # the store is still usable after the failed transaction
    assert store.counts() == {"scheduled": 2}


def test_add_many_inserts_deliveries_for_an_existing_post(store):
    first = queue(store, "a")
    store.add_many([(first.post_id, f"ch{i}", "generic", NOW + timedelta(minutes=i), f"bulk-{i}", [part("b")])
                    for i in range(5)], now=NOW)
    listed = store.list()
    assert len(listed) == 6
    assert [d.idempotency_key for d in listed[1:]] == [f"bulk-{i}" for i in range(5)]
    assert {d.post_slug for d in listed} == {"post"}


# ---- claiming --------------------------------------------------------------------------------
def test_claim_takes_only_due_deliveries_and_marks_them(store):
    due = queue(store, "a", NOW - timedelta(minutes=1))
    queue(store, "b", NOW + timedelta(minutes=1))
    [claimed] = claim(store, worker="w1")
    assert claimed.id == due.id
    assert claimed.state is State.PUBLISHING
    assert claimed.claimed_by == "w1"
    assert claimed.lease_until == NOW + timedelta(seconds=LEASE)
    assert claimed.attempts == 1
    assert store.get(due.id) == claimed
    assert claim(store, worker="w2") == []


def test_claim_orders_by_run_at(store):
    ids = {minutes: queue(store, f"ch{minutes}", NOW - timedelta(minutes=minutes)).id for minutes in (3, 9, 1, 5)}
    claimed = claim(store)
    assert [d.id for d in claimed] == [ids[9], ids[5], ids[3], ids[1]]


def test_claim_takes_at_most_one_per_channel_and_skips_busy_channels(store):
    early = queue(store, "a", NOW - timedelta(minutes=2))
    late = queue(store, "a", NOW - timedelta(minutes=1))
    other = queue(store, "b", NOW)
    assert sorted(d.id for d in claim(store, worker="w1")) == sorted([early.id, other.id])
    # `a` has a delivery in flight: its next one waits, whoever asks.
    assert claim(store, worker="w2") == []
    assert store.finish(early.id, worker="w1", state=State.PUBLISHED, now=NOW)
    assert [d.id for d in claim(store, worker="w2")] == [late.id]


def test_claim_skips_held_channels_until_the_hold_ends(store):
    held = queue(store, "a")
    free = queue(store, "b")
    store.hold_channel("a", NOW + timedelta(minutes=10), "rate limited")
    assert [d.id for d in claim(store)] == [free.id]
    assert claim(store, NOW + timedelta(minutes=9)) == []
    assert [d.id for d in claim(store, NOW + timedelta(minutes=10), worker="w2")] == [held.id]


def test_claim_respects_limit_and_excluded_channels(store):
    for channel in "abcde":
        queue(store, channel)
    first = claim(store, limit=2, exclude_channels=("a",))
    assert [d.channel for d in first] == ["b", "c"]
    rest = claim(store, limit=10, exclude_channels=("a",))
    assert [d.channel for d in rest] == ["d", "e"]
    assert [d.channel for d in claim(store)] == ["a"]


def test_concurrent_claimants_never_share_a_delivery_or_a_channel(store_url, store):
    channels = [f"ch{i}" for i in range(6)]
    for index in range(60):
        queue(store, channels[index % len(channels)], NOW - timedelta(seconds=index))
    workers = [open_store(store_url) for _ in range(4)]
    claimed: dict[str, list[int]] = {}
    errors: list[Exception] = []
    overlap: list[tuple[str, int]] = []
    start = threading.Barrier(len(workers))

    def work(name: str, worker_store) -> None:
        mine = claimed.setdefault(name, [])
        start.wait()
        try:
            for _ in range(40):
                batch = worker_store.claim_due(NOW, worker=name, lease_seconds=LEASE, limit=3)
                busy = worker_store.counts().get("publishing", 0)
                if busy > len(channels):
                    overlap.append((name, busy))
                for delivery in batch:
                    mine.append(delivery.id)
                    assert worker_store.finish(delivery.id, worker=name, state=State.PUBLISHED, now=NOW)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(f"w{i}", s)) for i, s in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in workers:
        s.close()
    assert errors == [] and overlap == []
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == len(set(every)) == 60
    assert store.counts() == {"published": 60}
    assert {d.attempts for d in store.list()} == {1}


# ---- taking over -------------------------------------------------------------------------------
def test_reclaim_takes_over_an_expired_lease_but_not_a_live_one(store):
    delivery = queue(store)
    claim(store, worker="w1")
    assert store.reclaim(NOW + timedelta(seconds=LEASE - 1), worker="w2", lease_seconds=LEASE,
                         claimant_gone=never_gone) == []
    later = NOW + timedelta(seconds=LEASE)
    [taken] = store.reclaim(later, worker="w2", lease_seconds=LEASE, claimant_gone=never_gone)
    assert taken.id == delivery.id and taken.state is State.PUBLISHING
    assert taken.claimed_by == "w2" and taken.lease_until == later + timedelta(seconds=LEASE)
    assert taken.attempts == 1
    # The old claimant has lost it: nothing it records counts.
    assert not store.save_progress(delivery.id, worker="w1", progress={"sending": 0})
    assert not store.finish(delivery.id, worker="w1", state=State.PUBLISHED, now=later)
    assert store.finish(delivery.id, worker="w2", state=State.PUBLISHED, now=later)


def test_reclaim_takes_over_from_a_claimant_known_to_be_gone(store):
    delivery = queue(store)
    queue(store, "b")
    claim(store, worker="dead")
    asked: list[str] = []

    def gone(claimant: str) -> bool:
        asked.append(claimant)
        return claimant == "dead"
    taken = store.reclaim(NOW, worker="w2", lease_seconds=LEASE, claimant_gone=gone)
    assert {d.claimed_by for d in taken} == {"w2"} and delivery.id in {d.id for d in taken}
    assert "dead" in asked


def test_reclaim_never_takes_its_own_claims(store):
    queue(store)
    claim(store, worker="w1")
    assert store.reclaim(NOW + timedelta(hours=1), worker="w1", lease_seconds=LEASE,
                         claimant_gone=lambda _c: True) == []


def test_extend_leases_only_renews_the_workers_own_claims(store):
    mine, theirs = queue(store, "a"), queue(store, "b")
    claim(store, worker="w1", exclude_channels=("b",))
    claim(store, worker="w2")
    until = NOW + timedelta(minutes=5)
    store.extend_leases([mine.id, theirs.id], worker="w1", until=until)
    assert store.get(mine.id).lease_until == until
    assert store.get(theirs.id).lease_until == NOW + timedelta(seconds=LEASE)
    store.extend_leases([], worker="w1", until=until)


# ---- ending a claim -------------------------------------------------------------------------------
def test_only_the_current_claimant_saves_progress_or_finishes(store):
    delivery = queue(store)
    claim(store, worker="w1")
    assert not store.save_progress(delivery.id, worker="w2", progress={"x": 1})
    assert store.save_progress(delivery.id, worker="w1", progress={"sending": 0, "done": [{"remote_id": "r1"}]})
    assert store.get(delivery.id).progress == {"sending": 0, "done": [{"remote_id": "r1"}]}
    attempt = Attempt(delivery.id, NOW, 200, None, 12.5, "published")
    assert not store.finish(delivery.id, worker="w2", state=State.PUBLISHED, now=NOW, attempt=attempt)
    assert store.attempts(delivery.id) == []
    assert store.finish(delivery.id, worker="w1", state=State.PUBLISHED, now=NOW,
                        remote_id="r1", remote_url="https://example.test/r1", attempt=attempt)
    done = store.get(delivery.id)
    assert (done.state, done.remote_id, done.remote_url) == (State.PUBLISHED, "r1", "https://example.test/r1")
    assert (done.claimed_by, done.lease_until) == (None, None)
    assert store.attempts(delivery.id) == [attempt]
    # Finished is finished: a second finish or a requeue finds no claim.
    assert not store.finish(delivery.id, worker="w1", state=State.FAILED, now=NOW, error="late")
    assert not store.requeue(delivery.id, worker="w1", run_at=NOW, now=NOW, error="late")
    assert not store.save_progress(delivery.id, worker="w1", progress={})
    assert store.get(delivery.id).state is State.PUBLISHED


def test_finish_keeps_an_earlier_remote_id_and_records_errors(store):
    delivery = queue(store)
    claim(store)
    store.save_progress(delivery.id, worker="w1", progress={"sending": 0})
    assert store.finish(delivery.id, worker="w1", state=State.UNKNOWN, now=NOW, error="timed out")
    unknown = store.get(delivery.id)
    assert (unknown.state, unknown.error, unknown.remote_id) == (State.UNKNOWN, "timed out", None)


def test_requeue_returns_to_scheduled_and_refunds_on_request(store):
    delivery = queue(store)
    claim(store, worker="w1")
    later = NOW + timedelta(minutes=5)
    attempt = Attempt(delivery.id, NOW, 503, "unavailable", 40.0, "retry")
    assert not store.requeue(delivery.id, worker="w2", run_at=later, now=NOW, error="nope")
    assert store.requeue(delivery.id, worker="w1", run_at=later, now=NOW, error="retrying", attempt=attempt)
    again = store.get(delivery.id)
    assert (again.state, again.attempts, again.error) == (State.SCHEDULED, 1, "retrying")
    assert again.next_attempt_at == later and again.due_at == NOW
    assert (again.claimed_by, again.lease_until) == (None, None)
    assert store.attempts(delivery.id) == [attempt]
    assert claim(store, NOW + timedelta(minutes=4)) == []
    [second] = claim(store, later)
    assert second.attempts == 2
    assert store.requeue(delivery.id, worker="w1", run_at=later + timedelta(minutes=1), now=later,
                         error="rate limited", refund=True)
    assert store.get(delivery.id).attempts == 1


def test_record_attempt_and_attempts_in_time_order(store):
    delivery = queue(store)
    other = queue(store, "b")
    store.record_attempt(Attempt(delivery.id, NOW + timedelta(seconds=2), None, "b", None, "retry"))
    store.record_attempt(Attempt(delivery.id, NOW, 429, "a", 1.5, "rate_limited"))
    store.record_attempt(Attempt(other.id, NOW, 200, None, 3.0, "published"))
    assert [(a.error, a.status, a.latency_ms, a.outcome) for a in store.attempts(delivery.id)] == [
        ("a", 429, 1.5, "rate_limited"), ("b", None, None, "retry")]
    assert store.attempts(delivery.id)[0].at == NOW


# ---- holds ------------------------------------------------------------------------------------------
def test_hold_channel_upserts_and_holds_lists_live_ones(store):
    store.hold_channel("a", NOW + timedelta(minutes=5), "429 from x")
    store.hold_channel("a", NOW + timedelta(minutes=15), "429 again")
    store.hold_channel("b", NOW + timedelta(minutes=1), "short")
    assert store.holds(NOW) == {"a": (NOW + timedelta(minutes=15), "429 again"),
                                "b": (NOW + timedelta(minutes=1), "short")}
    assert store.holds(NOW + timedelta(minutes=1)) == {"a": (NOW + timedelta(minutes=15), "429 again")}


# ---- user actions ------------------------------------------------------------------------------------
def test_cancel_is_allowed_from_scheduled_failed_and_unknown_only(store):
    scheduled = queue(store, "a")
    assert store.cancel(scheduled.id, NOW).state is State.CANCELLED
    with pytest.raises(UsageError, match="cancelled"):
        store.cancel(scheduled.id, NOW)
    in_flight = queue(store, "b")
    claim(store)
    with pytest.raises(UsageError, match="publishing"):
        store.cancel(in_flight.id, NOW)
    store.finish(in_flight.id, worker="w1", state=State.PUBLISHED, now=NOW)
    with pytest.raises(UsageError, match="published"):
        store.cancel(in_flight.id, NOW)
    with pytest.raises(UsageError, match="no delivery with id 999"):
        store.cancel(999, NOW)
    for ending in (State.FAILED, State.UNKNOWN):
        delivery = queue(store, f"c-{ending.value}")
        claim(store)
        store.finish(delivery.id, worker="w1", state=ending, now=NOW, error="boom")
        assert store.cancel(delivery.id, NOW).state is State.CANCELLED


def test_retry_resets_a_failed_delivery_to_go_now(store):
    delivery = queue(store, due=NOW - timedelta(hours=1))
    claim(store)
    store.save_progress(delivery.id, worker="w1", progress={"sending": 0})
    store.finish(delivery.id, worker="w1", state=State.FAILED, now=NOW, error="rejected")
    later = NOW + timedelta(minutes=3)
    retried = store.retry(delivery.id, later)
    assert (retried.state, retried.attempts, retried.error, retried.progress) == (State.SCHEDULED, 0, None, {})
    assert retried.due_at == later and retried.next_attempt_at is None
    with pytest.raises(UsageError, match="scheduled"):
        store.retry(delivery.id, later)
    assert store.retry(store.cancel(delivery.id, later).id, later).state is State.SCHEDULED
    with pytest.raises(UsageError, match="no delivery"):
        store.retry(12345, later)


def test_reschedule_moves_the_due_time_but_never_of_published_or_in_flight(store):
    delivery = queue(store)
    moved = store.reschedule(delivery.id, NOW + timedelta(days=1), NOW)
    assert moved.due_at == NOW + timedelta(days=1) and moved.state is State.SCHEDULED
    assert claim(store) == []
    store.cancel(delivery.id, NOW)
    assert store.reschedule(delivery.id, NOW, NOW).state is State.SCHEDULED
    claim(store)
    with pytest.raises(UsageError, match="publishing"):
        store.reschedule(delivery.id, NOW, NOW)
    store.finish(delivery.id, worker="w1", state=State.PUBLISHED, now=NOW)
    with pytest.raises(UsageError, match="published"):
        store.reschedule(delivery.id, NOW, NOW)


def test_mark_published_settles_only_an_unknown_delivery(store):
    scheduled = queue(store, "a")
    with pytest.raises(UsageError, match="scheduled"):
        store.mark_published(scheduled.id, "https://x.com/i/status/1", NOW)
    unknown = queue(store, "b")
    claim(store)
    store.finish(unknown.id, worker="w1", state=State.UNKNOWN, now=NOW, error="timed out after sending")
    settled = store.mark_published(unknown.id, "https://x.com/i/status/2", NOW)
    assert (settled.state, settled.remote_url, settled.error) == (State.PUBLISHED, "https://x.com/i/status/2", None)
    with pytest.raises(UsageError, match="published"):
        store.mark_published(unknown.id, None, NOW)


# ---- reading ---------------------------------------------------------------------------------------
def test_between_lists_every_state_due_in_the_window_in_due_order(store):
    before = queue(store, "a", NOW - timedelta(minutes=1), slug="before")
    late = queue(store, "b", NOW + timedelta(hours=5), slug="late")
    first = queue(store, "c", NOW, slug="first")
    at_end = queue(store, "d", NOW + timedelta(hours=6), slug="end")
    store.cancel(late.id, NOW)
    window = store.between(NOW, NOW + timedelta(hours=6))
    assert [d.id for d in window] == [first.id, late.id]
    assert window[1].state is State.CANCELLED
    assert before.id not in [d.id for d in store.between(NOW, NOW + timedelta(days=1))]
    assert [d.id for d in store.between(NOW, NOW + timedelta(days=1))][-1] == at_end.id
    assert [d.id for d in store.of_post(late.post_id)] == [late.id] and store.of_post(999) == []


def test_between_filters_states_in_the_query_and_runs_open_ended_from_either_end(store):
    """A calendar export: cancelled rows must not use up the limit, and there is no end date."""
    gone = [queue(store, "a", NOW + timedelta(minutes=m), slug=f"gone{m}") for m in range(3)]
    for delivery in gone:
        store.cancel(delivery.id, NOW)
    kept = [queue(store, "b", NOW + timedelta(days=d), slug=f"kept{d}") for d in (1, 400, 4000)]
    exported = (State.SCHEDULED, State.PUBLISHED, State.FAILED, State.UNKNOWN)
    assert [d.id for d in store.between(NOW, limit=3, states=exported)] == [d.id for d in kept]
    assert [d.id for d in store.between(NOW, limit=3)] == [d.id for d in gone]
    assert [d.id for d in store.between(NOW, limit=2, states=exported, last=True)] == [kept[1].id, kept[2].id]
    assert [d.id for d in store.between(NOW, NOW + timedelta(days=2), states=(State.CANCELLED,), last=True)] == \
        [d.id for d in gone]
    assert store.between(NOW + timedelta(days=4001), states=exported) == []


def test_post_titles_names_each_post_by_id(store):
    one, two = queue(store, "a", slug="one"), queue(store, "b", slug="two-words")
    assert store.post_titles([two.post_id, one.post_id, one.post_id, 999]) == {one.post_id: "One",
                                                                             two.post_id: "Two-Words"}
    assert store.post_titles([]) == {}


def test_get_list_and_counts(store):
    assert store.get(1) is None and store.list() == [] and store.counts() == {}
    late = queue(store, "a", NOW + timedelta(hours=2), slug="late")
    early = queue(store, "b", NOW, slug="early")
    middle = queue(store, "c", NOW + timedelta(hours=1), slug="middle")
    store.cancel(middle.id, NOW)
    assert [d.id for d in store.list()] == [early.id, middle.id, late.id]
    assert [d.id for d in store.list(State.SCHEDULED)] == [early.id, late.id]
    assert [d.id for d in store.list(limit=1)] == [early.id]
    assert store.counts() == {"scheduled": 2, "cancelled": 1}
    assert store.get(late.id).post_slug == "late"


def test_next_run_at_counts_holds(store):
    assert store.next_run_at(NOW) is None
    queue(store, "a", NOW + timedelta(minutes=10))
    queue(store, "b", NOW + timedelta(minutes=20))
    assert store.next_run_at(NOW) == NOW + timedelta(minutes=10)
    store.hold_channel("a", NOW + timedelta(minutes=30), "rate limited")
    assert store.next_run_at(NOW) == NOW + timedelta(minutes=20)
    store.hold_channel("b", NOW + timedelta(minutes=5), "over already")
    assert store.next_run_at(NOW) == NOW + timedelta(minutes=20)
    store.hold_channel("b", NOW + timedelta(minutes=40), "longer")
    assert store.next_run_at(NOW) == NOW + timedelta(minutes=30)


def test_taken_slots_are_live_deliveries_after_a_moment(store):
    slot = lambda hours: NOW + timedelta(hours=hours)  # noqa: E731
    queue(store, "a", slot(1))
    queue(store, "a", slot(2))
    cancelled = queue(store, "a", slot(3))
    store.cancel(cancelled.id, NOW)
    queue(store, "b", slot(4))
    queue(store, "a", slot(0))
    assert store.taken_slots("a", NOW) == {slot(1), slot(2)}
    assert store.taken_slots("a", slot(1)) == {slot(2)}
    assert store.taken_slots("c", NOW) == set()


def test_post_snapshot_round_trips(store):
    snapshot = {"slug": "s", "ctas": [{"label": "Read", "url": "https://e.test/?a=1&b=2"}], "n": 3, "x": None}
    delivery = queue(store, snapshot=snapshot)
    assert store.post_snapshot(delivery.post_id) == snapshot
    assert store.post_snapshot(delivery.post_id + 100) == {}


# ---- per-channel memory -------------------------------------------------------------------------------
def test_state_get_and_set_hold_json_per_channel(store):
    assert store.state_get("a", "session") is None
    session = {"accessJwt": "eyJ…", "expires": 1767225600, "scopes": ["post", "read"], "nested": {"ok": True}}
    store.state_set("a", "session", session)
    store.state_set("b", "session", "other")
    assert store.state_get("a", "session") == session
    store.state_set("a", "session", [1, 2.5, "ünï", None])
    assert store.state_get("a", "session") == [1, 2.5, "ünï", None]
    assert store.state_get("b", "session") == "other"
    store.state_set("a", "limit", 280)
    assert store.state_get("a", "limit") == 280
    assert store.state_items("a") == {"session": [1, 2.5, "ünï", None], "limit": 280}
    assert store.state_items("b") == {"session": "other"} and store.state_items("none") == {}


# ---- other processes -----------------------------------------------------------------------------------
def test_change_token_changes_when_another_connection_commits(store_url, store):
    other = open_store(store_url)
    try:
        before = store.change_token()
        assert store.change_token() == before
        delivery = queue(other, "a", NOW + timedelta(hours=1))
        assert wait_for(lambda: store.change_token() != before, timeout=5)
        settled = store.change_token()
        other.cancel(delivery.id, NOW)
        assert wait_for(lambda: store.change_token() != settled, timeout=5)
        settled = store.change_token()
        other.hold_channel("a", NOW + timedelta(minutes=5), "rate limited")
        assert wait_for(lambda: store.change_token() != settled, timeout=5)
    finally:
        other.close()


def test_explain_claim_uses_the_claim_index_and_never_sorts(store):
    """deliveries_claim holds only scheduled rows, in (run_at, id) order: the claim never sorts, so a
    million delivered rows behind it cost nothing (benchmarks/queue_scale.py times it)."""
    lines = store.explain_claim()
    assert lines and all(isinstance(line, str) for line in lines)
    plan = "\n".join(lines)
    assert "deliveries_claim" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_counts_every_state_however_it_is_counted(store):
    """counts() derives `published` from the total; every state must still come out right."""
    keys = {state: [queue(store, f"{state}-{n}", key=f"{state}-{n}") for n in range(count)]
            for state, count in (("scheduled", 3), ("publishing", 2), ("published", 4), ("failed", 1),
                                 ("cancelled", 2), ("unknown", 1))}
    with store.transaction() as cur:
        for state, deliveries in keys.items():
            ids = [d.id for d in deliveries]
            store.execute(cur, f"UPDATE deliveries SET state = ? WHERE id IN ({', '.join('?' * len(ids))})",
                          (state, *ids))
    assert store.counts() == {"scheduled": 3, "publishing": 2, "published": 4, "failed": 1, "cancelled": 2,
                              "unknown": 1}
    with store.transaction() as cur:
        store.execute(cur, "UPDATE deliveries SET state = 'published'")
    assert store.counts() == {"published": 13}


def test_times_are_aware_at_the_boundary(store):
    with pytest.raises(ValueError, match="naive"):
        queue(store, due=datetime(2026, 12, 1, 9, 0))
    delivery = queue(store)
    assert delivery.due_at.tzinfo is not None and store.get(delivery.id).due_at == NOW


# ---- PostgreSQL specifics --------------------------------------------------------------------------------
def test_postgres_errors_and_reprs_never_show_the_password():
    pytest.importorskip("psycopg")
    secret = "hunter2-very-secret"
    for url in (f"postgresql://bot:{secret}@127.0.0.1:1/postbot",
                f"postgresql://bot:{secret}@127.0.0.1:1/postbot?sslmode=bogus",
                f"postgresql://bot@127.0.0.1:1/postbot?password={secret}&connect_timeout=2"):
        store = open_store(url)
        assert secret not in repr(store)
        with pytest.raises(StoreError) as caught:
            store.counts()
        message = str(caught.value)
        assert secret not in message and "127.0.0.1:1" in message and "POSTBOT_DATABASE_URL" in message
        with pytest.raises(StoreError) as caught:
            store.change_token()
        assert secret not in str(caught.value)


def test_postgres_claims_lock_out_other_claimants_until_commit(fresh_postgres_url):
    """While one claim transaction is open, another process's claim waits instead of racing."""
    first, second = open_store(fresh_postgres_url), open_store(fresh_postgres_url)
    try:
        first.migrate()
        queue(first, "a")
        results: list[list] = []
        with first.transaction(claim=True):
            waiter = threading.Thread(target=lambda: results.append(claim(second, worker="w2")))
            waiter.start()
            waiter.join(timeout=0.5)
            assert waiter.is_alive(), "a second claimant ran while the first held the claim lock"
        waiter.join(timeout=10)
        assert [d.claimed_by for d in results[0]] == ["w2"]
    finally:
        first.close()
        second.close()


def test_postgres_notifies_state_changes_but_not_lease_renewals(fresh_postgres_url):
    """Daemons wake on notifications; renewing leases and saving progress must not wake them all."""
    import psycopg
    from postbot.store.postgres import CHANGES_CHANNEL
    store = open_store(fresh_postgres_url)
    listener = psycopg.connect(fresh_postgres_url, autocommit=True)
    try:
        store.migrate()
        listener.execute(f"LISTEN {CHANGES_CHANNEL}")
        delivery = queue(store)
        claim(store, worker="w1")
        store.extend_leases([delivery.id], worker="w1", until=NOW + timedelta(minutes=5))
        store.save_progress(delivery.id, worker="w1", progress={"sending": 0})
        store.state_set("a", "session", {"t": 1})
        store.record_attempt(Attempt(delivery.id, NOW, 200, None, 1.0, "published"))
        store.finish(delivery.id, worker="w1", state=State.PUBLISHED, now=NOW)
        store.hold_channel("a", NOW + timedelta(minutes=1), "sentinel: the last change")
        # One session's notifications arrive in commit order, so everything before the hold is here.
        seen = []
        for note in listener.notifies(timeout=10):
            seen.append(note.payload)
            if note.payload == "channel_holds":
                break
        assert seen == ["deliveries", "deliveries", "deliveries", "channel_holds"]   # add, claim, finish
    finally:
        listener.close()
        store.close()


def test_postgres_store_reconnects_after_the_server_drops_its_connections(fresh_postgres_url):
    store, admin = open_store(fresh_postgres_url), open_store(fresh_postgres_url)
    try:
        store.migrate()
        queue(store)
        token = store.change_token()
        with admin.transaction() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert store.counts() == {"scheduled": 1}
        # The listener learns of its end on a later poll; the daemon polls every second.
        assert wait_for(lambda: store.change_token() != token, timeout=5)
    finally:
        store.close()
        admin.close()


def test_json_columns_are_plain_text_on_both(store):
    delivery = queue(store)
    with store.transaction() as cur:
        raw = store.execute(cur, "SELECT parts FROM deliveries WHERE id = ?", (delivery.id,)).fetchone()[0]
    assert json.loads(raw) == [p.to_json() for p in delivery.parts]


# ---- alerts --------------------------------------------------------------------------------------
def alert(key: str, kind: str = "failed", at: datetime = NOW, subject: str = "a"):
    from postbot.models import AlertEvent
    return AlertEvent(key, kind, subject, f"message of {key}", at)


def digest_post(channel: str, key: str) -> dict:
    return {"slug": "postbot-alert", "title": "postbot: a delivery failed", "source": "postbot alerts",
            "snapshot": {"slug": "postbot-alert"},
            "deliveries": [{"channel": channel, "platform": "generic", "due_at": NOW, "parts": [part("alert")],
                            "idempotency_key": key}]}


def test_alert_events_are_recorded_once_by_their_key(store):
    assert store.add_alert_events([alert("failed:1"), alert("failed:2"), alert("failed:1")]) == ["failed:1", "failed:2"]
    assert store.add_alert_events([alert("failed:2"), alert("crash:w", "crash")]) == ["crash:w"]
    assert [(e.key, e.kind, e.subject, e.at) for e in store.pending_alerts()] == [
        ("crash:w", "crash", "a", NOW), ("failed:1", "failed", "a", NOW), ("failed:2", "failed", "a", NOW)]
    assert store.last_alert_digests() == {}


def test_an_alert_digest_marks_its_events_and_queues_ordinary_deliveries_at_once(store):
    store.add_alert_events([alert("failed:1"), alert("failed:2"), alert("crash:w", "crash")])
    later = NOW + timedelta(minutes=5)
    queued = store.add_alert_digest("failed", ["failed:1", "failed:2"], [digest_post("ops", "k-ops"),
                                                                         digest_post("mail", "k-mail")], later)
    assert [(d.channel, d.state, d.idempotency_key) for d in queued] == [
        ("ops", State.SCHEDULED, "k-ops"), ("mail", State.SCHEDULED, "k-mail")]
    assert [e.key for e in store.pending_alerts()] == ["crash:w"]
    assert store.last_alert_digests() == {"failed": later}
    assert sorted(d.id for d in store.alert_deliveries((State.SCHEDULED,))) == sorted(d.id for d in queued)
    # Another process that read the same events before they were taken writes nothing at all.
    assert store.add_alert_digest("failed", ["failed:1"], [digest_post("ops", "k-again")], later) is None
    assert store.counts() == {"scheduled": 2}
    # A digest with no channel left to tell still takes its events.
    assert store.add_alert_digest("crash", ["crash:w"], [], later) == []
    assert store.pending_alerts() == [] and store.last_alert_digests() == {"failed": later, "crash": later}


def test_failed_and_unknown_deliveries_are_found_by_when_they_changed_but_never_alert_digests(store):
    post_delivery = queue(store, "a")
    store.add_alert_events([alert("failed:0")])
    (digest,) = store.add_alert_digest("failed", ["failed:0"], [digest_post("ops", "k-ops")], NOW)
    (claimed_post, claimed_digest) = sorted(claim(store), key=lambda d: d.id)
    assert {claimed_post.id, claimed_digest.id} == {post_delivery.id, digest.id}
    later = NOW + timedelta(minutes=1)
    assert store.finish(post_delivery.id, worker="w1", state=State.FAILED, now=later, error="boom")
    assert store.finish(digest.id, worker="w1", state=State.UNKNOWN, now=later, error="timed out")
    (found, changed), = store.finished_badly_after((NOW, 0))
    assert (found.id, found.state, found.error, changed) == (post_delivery.id, State.FAILED, "boom", later)
    assert store.finished_badly_after((later + timedelta(milliseconds=1), 0)) == []
    assert store.finished_badly_after((later, found.id)) == []                  # the place itself is passed
    assert store.finished_badly_after((NOW, 0), until=later - timedelta(milliseconds=1)) == []
    assert [d.id for d in store.alert_deliveries((State.FAILED, State.UNKNOWN))] == [digest.id]


def test_failures_at_one_moment_are_read_page_by_page_from_where_the_last_page_ended(store):
    queued = [queue(store, f"c{n}") for n in range(5)]
    later = NOW + timedelta(minutes=1)
    for delivery in claim(store, limit=5):
        assert store.finish(delivery.id, worker="w1", state=State.FAILED, now=later, error="boom")
    pages, place = [], (NOW, 0)
    while page := store.finished_badly_after(place, limit=2):
        pages.append([d.id for d, _ in page])
        last, at = page[-1]
        place = (at, last.id)
    assert pages == [[queued[0].id, queued[1].id], [queued[2].id, queued[3].id], [queued[4].id]]
    assert store.finished_badly_after((NOW, 0), until=later, limit=10) == store.finished_badly_after((NOW, 0))


def test_state_setdefault_keeps_the_first_value_until_deleted(store):
    assert store.state_setdefault("a", "since", "first") == "first"
    assert store.state_setdefault("a", "since", "second") == "first"
    store.state_delete("a", "since")
    assert store.state_get("a", "since") is None
    assert store.state_setdefault("a", "since", "third") == "third"
