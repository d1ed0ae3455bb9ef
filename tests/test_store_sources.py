"""The sources part of the store contract (feeds, remembered items, notices), on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from postbot.errors import UsageError
from postbot.store import open_store
from postbot.store.migrations import MIGRATIONS
from postbot.store.sources import ItemTaken
from tests.test_store_contract import NOW, empty_store, part, store, store_url  # noqa: F401 (fixtures)


def item(guid: str, link: str | None = None, title: str | None = None) -> dict:
    return {"guid": guid, "link": link, "title": title or guid, "item": {"guid": guid}}


def add_post(store, source_item: int, slug: str = "p"):
    return store.add_post(slug=slug, title=slug, source="feed", snapshot={"slug": slug}, now=NOW,
                          deliveries=[{"channel": "x", "platform": "x", "due_at": NOW, "parts": [part(slug)],
                                       "idempotency_key": uuid.uuid4().hex}], source_item=source_item)


def test_a_database_made_before_sources_migrates_and_keeps_its_deliveries(store_url):  # noqa: F811
    old = open_store(store_url)
    try:
        import postbot.store.migrations as migrations
        saved = list(migrations.MIGRATIONS)
        migrations.MIGRATIONS[:] = saved[:1]
        try:
            assert old.migrate() == ["0001_initial"]
        finally:
            migrations.MIGRATIONS[:] = saved
        [delivery] = old.add_post(slug="old", title="Old", source="old.md", snapshot={}, now=NOW,
                                  deliveries=[{"channel": "x", "platform": "x", "due_at": NOW, "parts": [part("old")],
                                               "idempotency_key": "k-old"}])
        assert old.migrate() == [name for name, _ in MIGRATIONS[1:]]
        assert old.get(delivery.id).parts[0].text == "old"
        assert old.feeds() == []
    finally:
        old.close()


def test_feeds_are_added_found_by_name_url_or_id_and_removed(store):  # noqa: F811
    feed = store.add_feed(url="https://blog.example.com/feed/", name="blog", options={"first": 1}, now=NOW)
    assert store.feed("blog") == store.feed("https://blog.example.com/feed/") == store.feed(str(feed.id)) == feed
    assert feed.options == {"first": 1} and feed.next_poll_at == NOW and feed.last_poll_at is None
    with pytest.raises(UsageError, match="already added"):
        store.add_feed(url="https://blog.example.com/feed/", name="other", options={}, now=NOW)
    with pytest.raises(UsageError, match="already added"):
        store.add_feed(url="https://other.example.com/feed/", name="blog", options={}, now=NOW)
    store.remove_feed(feed.id)
    assert store.feeds() == [] and store.feed("blog") is None


def test_a_due_feed_is_claimed_by_one_poller_until_its_poll_finishes(store):  # noqa: F811
    feed = store.add_feed(url="https://blog.example.com/feed/", name="blog", options={}, now=NOW)
    assert [f.id for f in store.claim_feeds(NOW, lease_seconds=300)] == [feed.id]
    assert store.claim_feeds(NOW + timedelta(seconds=299), lease_seconds=300) == []
    store.finish_poll(feed.id, now=NOW, status=200, result="ok", next_poll_at=NOW + timedelta(minutes=15),
                      etag='"abc"', last_modified="Mon, 30 Nov 2026 12:00:00 GMT")
    again = store.feed("blog")
    assert (again.etag, again.last_modified, again.last_status, again.last_result) == \
        ('"abc"', "Mon, 30 Nov 2026 12:00:00 GMT", 200, "ok")
    assert store.next_feed_poll() == NOW + timedelta(minutes=15)
    assert store.claim_feeds(NOW + timedelta(minutes=14), lease_seconds=300) == []
    assert len(store.claim_feeds(NOW + timedelta(minutes=15), lease_seconds=300)) == 1
    # A poll that changes nothing keeps the validators it does not mention.
    store.finish_poll(feed.id, now=NOW, status=304, result="not modified", next_poll_at=NOW)
    assert store.feed("blog").etag == '"abc"'


def test_two_pollers_claiming_at_once_get_each_feed_once(store_url):  # noqa: F811
    setup = open_store(store_url)
    setup.migrate()
    for n in range(5):
        setup.add_feed(url=f"https://b{n}.example.com/feed", name=f"b{n}", options={}, now=NOW)
    stores = [open_store(store_url) for _ in range(3)]
    claimed: list[int] = []
    threads = [threading.Thread(target=lambda s=s: claimed.extend(
        f.id for f in s.claim_feeds(NOW, lease_seconds=60))) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in [setup, *stores]:
        s.close()
    assert sorted(claimed) == [1, 2, 3, 4, 5]


def test_first_sight_keeps_only_the_newest_items_new(store):  # noqa: F811
    assert not store.seen_before("feed:1")
    new = store.record_items("feed:1", [item("a"), item("b"), item("c")], NOW, first_take=1)
    assert [i.guid for i in store.pending_items("feed:1")] == ["c"] and len(new) == 1
    assert store.item_counts("feed:1") == {"new": 1, "skipped": 2} and store.seen_before("feed:1")
    # From then on every unseen item is new.
    store.record_items("feed:1", [item("b"), item("d"), item("e")], NOW, first_take=1)
    assert [i.guid for i in store.pending_items("feed:1")] == ["c", "d", "e"]


def test_a_first_look_at_an_empty_source_counts_as_the_first(store):  # noqa: F811
    assert store.record_items("folder:/posts", [], NOW, first_take=0) == []
    assert store.seen_before("folder:/posts")
    assert len(store.record_items("folder:/posts", [item("a.md@1"), item("b.md@2")], NOW, first_take=0)) == 2


def test_items_are_known_by_guid_or_by_link(store):  # noqa: F811
    store.record_items("feed:1", [item("g1", "https://blog.example.com/a")], NOW)
    # Same guid, edited title; same link, changed guid; a duplicate inside one document.
    new = store.record_items("feed:1", [item("g1", "https://blog.example.com/a-edited", "Edited"),
                                        item("g2", "https://blog.example.com/a"),
                                        item("g3", "https://blog.example.com/c"),
                                        item("g4", "https://blog.example.com/c")], NOW)
    assert len(new) == 1
    assert [(i.guid, i.link) for i in store.pending_items("feed:1")] == \
        [("g1", "https://blog.example.com/a"), ("g3", "https://blog.example.com/c")]
    # Sources are separate: the same guid elsewhere is another item.
    assert len(store.record_items("feed:2", [item("g1")], NOW)) == 1
    assert store.unseen("feed:1", [item("g1"), item("gx", "https://blog.example.com/c"), item("gy")]) == [item("gy")]


def test_an_item_is_queued_with_its_post_or_not_at_all(store):  # noqa: F811
    [first, second] = store.record_items("feed:1", [item("a"), item("b")], NOW)
    [delivery] = add_post(store, first, "a")
    [queued] = [i for i in store.source_items("feed:1") if i.id == first]
    assert (queued.state, queued.post_id) == ("queued", delivery.post_id)
    # A second attempt (another daemon, a crash replay) writes nothing.
    with pytest.raises(ItemTaken):
        add_post(store, first, "a-again")
    assert [d.post_slug for d in store.list()] == ["a"]
    store.fail_item(second, "does not fit")
    [failed] = [i for i in store.source_items("feed:1") if i.id == second]
    assert (failed.state, failed.detail) == ("failed", "does not fit")
    with pytest.raises(ItemTaken):
        add_post(store, second, "b")
    assert store.pending_items() == []


def test_notices_are_listed_newest_first(store):  # noqa: F811
    store.add_notice("repeat", "first", NOW)
    store.add_notice("feed blog", "second", NOW + timedelta(minutes=1))
    assert [(s, m) for _, s, m in store.notices()] == [("feed blog", "second"), ("repeat", "first")]
    assert [m for _, _, m in store.notices(since=NOW + timedelta(seconds=30))] == ["second"]
