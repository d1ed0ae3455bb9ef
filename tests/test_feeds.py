"""Feeds against a local blog server (tests/fakes/feeds.py): what is queued, when, and only once.

Time is passed in; the server is real HTTP on 127.0.0.1 answering 200, 304 and 429 as web servers do."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import httpx
import pytest

from postbot.models import CTA
from postbot.sources.feed_parse import normalise_link
from postbot.sources.feeds import FeedOptions, FeedPoller, add_feed, next_poll, source_of
from tests.fakes.feeds import FORMATS, Blog, FeedServer, article
from tests.helpers import NOW, settings_for, sqlite_store
from tests.fakes.server import Reply

CHANNELS = {"POSTBOT_CHANNELS": "x=outbox,bluesky=outbox", "X_SLOTS": "09:00,13:00,17:00",
            "BLUESKY_SLOTS": "10:00,15:00"}


@pytest.fixture
def blog():
    return Blog(items=[article(n) for n in range(5, 0, -1)])      # newest first, as blogs list them


@pytest.fixture
def server(blog):
    with FeedServer(blog) as running:
        yield running


class World:
    """A store, settings, and a poller whose clock the test moves."""

    def __init__(self, tmp_path, server, kind="rss20", env=None, **options):
        self.settings = settings_for({**CHANNELS, "OUTBOX_DIR": str(tmp_path / "outbox"), **(env or {})})
        self.store = sqlite_store(tmp_path)
        self.server = server
        self.client = httpx.Client(timeout=5)
        self.now = NOW
        self.feed, self.found = add_feed(self.settings, self.store, server.feed_url(kind),
                                         FeedOptions(**options), name="blog", now=NOW, client=self.client)
        self.poller = FeedPoller(self.settings, self.store, client=self.client)

    def poll(self, minutes: float = 0):
        self.now += timedelta(minutes=minutes)
        return self.poller.poll_due(self.now)

    def titles(self, channel: str = "x") -> list[str]:
        return [self.store.post_snapshot(d.post_id)["title"] for d in self.store.list() if d.channel == channel]

    def close(self):
        self.client.close()


@pytest.fixture
def world(tmp_path, server):
    made = World(tmp_path, server)
    yield made
    made.close()


@pytest.mark.parametrize("kind", FORMATS)
def test_first_poll_queues_only_the_newest_item_in_every_format(tmp_path, server, kind):
    world = World(tmp_path, server, kind, ctas=[CTA("Online Coaching", "https://coach.example.com/online")])
    [result] = world.poll()
    assert (result.status, result.found, result.new) == (200, 5, 1)
    assert world.titles("x") == world.titles("bluesky") == ["Article 5: squats & hinges for busy dads"]
    counts = world.store.item_counts(source_of(world.feed))
    assert counts == {"queued": 1, "skipped": 4}
    [on_x] = [d for d in world.store.list() if d.channel == "x"]
    snapshot = world.store.post_snapshot(on_x.post_id)
    assert snapshot["url"] == "https://blog.example.com/article-5/"
    assert snapshot["ctas"] == [{"label": "Online Coaching", "url": "https://coach.example.com/online"}]
    assert snapshot["body"].startswith("Article 5 opens with a clear point")      # HTML became text
    assert "<" not in on_x.parts[0].text and "Article 5 opens" in on_x.parts[0].text
    if kind != "rss10":                                     # RSS 1.0 carries no picture
        assert snapshot["image"] == "https://blog.example.com/wp-content/uploads/article-5.jpg"
    assert on_x.due_at == NOW.replace(hour=13)              # the next free slot after 09:00 now
    world.close()


def test_a_new_item_is_queued_once_into_the_next_free_slot(world, blog):
    world.poll()
    blog.add(article(6))
    [result] = world.poll(minutes=15)
    assert (result.status, result.new) == (200, 1)
    assert world.titles() == ["Article 5: squats & hinges for busy dads", "Article 6: squats & hinges for busy dads"]
    x_times = sorted(d.due_at for d in world.store.list() if d.channel == "x")
    assert x_times == [NOW.replace(hour=13), NOW.replace(hour=17)]
    for minutes in (15, 15, 15):
        world.poll(minutes=minutes)
    assert len(world.titles()) == 2


def test_reordering_editing_and_a_changed_guid_never_queue_twice(world, blog):
    world.poll()
    blog.add(article(6))
    world.poll(minutes=15)
    assert len(world.store.list()) == 4
    blog.items.reverse()                                               # a feed that re-orders
    blog.touch()
    world.poll(minutes=15)
    blog.edit(0, title="Article 1, edited", html="<p>Edited text.</p>")  # edits an old item
    blog.edit(1, guid="https://blog.example.com/?p=9999")              # a new guid, the same link
    blog.edit(2, link="http://www.blog.example.com/article-3?utm_source=rss#more")  # the same link, spelt otherwise
    world.poll(minutes=15)
    assert blog.items[1].link in {f"https://blog.example.com/article-{n}/" for n in range(1, 7)}
    assert len(world.store.list()) == 4
    assert Counter(world.titles()).most_common(1)[0][1] == 1


def test_link_normalisation_keeps_what_names_the_article():
    assert normalise_link("http://www.Blog.example.com:80/a/?utm_source=rss&b=2&a=1#comments") == \
        "https://blog.example.com/a?a=1&b=2"
    assert normalise_link("https://blog.example.com/a?p=1") != normalise_link("https://blog.example.com/a?p=2")


@pytest.mark.parametrize("validator", ["etag", "last-modified"])
def test_an_unchanged_feed_is_asked_conditionally_and_answers_304_without_a_body(tmp_path, server, blog, validator):
    blog.send_etag = validator == "etag"
    world = World(tmp_path, server)
    world.poll()
    [result] = world.poll(minutes=15)
    assert (result.status, result.found, result.result) == (304, 0, "not modified; 0 queued")
    conditional = server.gets()[-1]
    if validator == "etag":
        assert conditional.headers["if-none-match"].startswith('"')
    else:
        assert "if-none-match" not in conditional.headers
    assert conditional.headers["if-modified-since"] == "Mon, 30 Nov 2026 12:00:00 GMT"
    # The server sent no body (the fake replies 304 with none); the poll parsed nothing new.
    assert world.store.feed("blog").last_status == 304
    blog.add(article(6))
    [changed] = world.poll(minutes=15)
    assert (changed.status, changed.new) == (200, 1)
    world.close()


def test_429_with_retry_after_is_honoured_and_nothing_is_asked_before(world, blog, server):
    world.poll()
    blog.refuse = Reply(429, "slow down", {"Retry-After": "3600"})
    [limited] = world.poll(minutes=15)
    assert limited.status == 429 and limited.next_poll_at == world.now + timedelta(hours=1)
    assert "Retry-After" in world.store.feed("blog").last_result
    asked = len(server.gets())
    assert world.poll(minutes=30) == [] and len(server.gets()) == asked
    blog.refuse = None
    blog.add(article(6))
    [after] = world.poll(minutes=30)
    assert (after.status, after.new) == (200, 1)


def test_retry_after_as_a_date_and_cache_control_max_age():
    when, why = next_poll(NOW, 900, 503, {"retry-after": "Tue, 01 Dec 2026 11:00:00 GMT"})
    assert when == NOW + timedelta(hours=2) and "Retry-After" in why
    assert next_poll(NOW, 900, 200, {"cache-control": "public, max-age=7200"})[0] == NOW + timedelta(hours=2)
    assert next_poll(NOW, 900, 304, {"cache-control": "max-age=60"})[0] == NOW + timedelta(minutes=15)
    assert next_poll(NOW, 900, 429, {})[0] == NOW + timedelta(hours=1)
    assert next_poll(NOW, 900, 429, {"retry-after": "999999"})[0] == NOW + timedelta(days=1)


def test_a_long_cache_lifetime_delays_the_next_poll(world, blog, server):
    blog.cache_control = "max-age=3600"
    [result] = world.poll()
    assert result.next_poll_at == NOW + timedelta(hours=1)
    asked = len(server.gets())
    assert world.poll(minutes=30) == [] and len(server.gets()) == asked


def test_twenty_new_items_trickle_into_distinct_slots(world, blog):
    world.poll()
    for number in range(6, 26):
        blog.add(article(number))
    [result] = world.poll(minutes=15)
    assert (result.new, len(result.intake.queued)) == (20, 20)
    for channel in ("x", "bluesky"):
        times = [d.due_at for d in world.store.list() if d.channel == channel]
        assert len(times) == 21 and len(set(times)) == 21
    x_times = sorted(d.due_at for d in world.store.list() if d.channel == "x")
    assert x_times[-1] == (NOW + timedelta(days=7)).replace(hour=9)   # 3 a day: a week of slots
    # Oldest first: article 6 goes before article 25.
    ordered = [world.store.post_snapshot(d.post_id)["title"].split(":")[0]
               for d in sorted(world.store.list(), key=lambda d: d.due_at) if d.channel == "x"]
    assert ordered[:3] == ["Article 5", "Article 6", "Article 7"] and ordered[-1] == "Article 25"


def test_a_feed_without_slots_uses_the_default_three_a_day(tmp_path, server, blog):
    world = World(tmp_path, server, env={"X_SLOTS": "", "BLUESKY_SLOTS": ""}, first=3)
    world.poll()
    times = sorted(d.due_at for d in world.store.list() if d.channel == "x")
    assert times == [NOW.replace(hour=13), NOW.replace(hour=17), (NOW + timedelta(days=1)).replace(hour=9)]
    world.close()


def test_an_item_that_cannot_be_posted_is_reported_and_does_not_block_the_others(tmp_path, server, blog):
    blog.items.insert(0, article(7))
    blog.items.insert(1, article(6))
    blog.items[1].title = ""
    blog.items[1].html = ""
    world = World(tmp_path, server, first=2)
    [result] = world.poll()
    assert [item.title for item, _ in result.intake.queued] == ["Article 7: squats & hinges for busy dads"]
    [(failed, error)] = result.intake.failed
    assert "neither a title nor any text" in error
    assert world.store.item_counts(source_of(world.feed)) == {"queued": 1, "failed": 1, "skipped": 5}
    world.close()


def test_a_missing_setting_keeps_items_pending_until_it_is_fixed(tmp_path, server):
    world = World(tmp_path, server, env={"POSTBOT_CHANNELS": "x"})
    [result] = world.poll()
    assert result.intake.waiting and "X_API_KEY" in result.intake.waiting[0][1]
    assert [i.title for i in world.store.pending_items()] == ["Article 5: squats & hinges for busy dads"]
    world.poller.settings = world.settings = settings_for({**CHANNELS, "OUTBOX_DIR": str(tmp_path / "o")})
    world.poll(minutes=1)                                   # not due: the pending item is queued anyway
    assert world.titles() == ["Article 5: squats & hinges for busy dads"]
    world.close()


def test_a_server_error_or_a_dead_server_is_recorded_and_retried_later(world, blog, server):
    blog.refuse = Reply(500, "oops")
    [failed] = world.poll()
    assert failed.status == 500 and failed.next_poll_at == NOW + timedelta(minutes=15)
    assert world.store.feed("blog").last_result == "error: HTTP 500"
    server.stop()
    world.client.close()                                    # its kept-alive connection outlives the server
    world.client = world.poller.client = httpx.Client(timeout=5)
    [dead] = world.poll(minutes=15)
    assert dead.status is None and dead.result.startswith("error: Connect")
    assert world.store.list() == []


def test_adding_a_feed_that_is_not_a_feed_says_so_and_writes_nothing(tmp_path, server):
    settings = settings_for(CHANNELS)
    store = sqlite_store(tmp_path)
    server.route("GET", "/blog", lambda r: Reply(200, "<html><body>a blog</body></html>", {"Content-Type": "text/html"}))
    from postbot.errors import UsageError
    with pytest.raises(UsageError, match="is not a feed"):
        add_feed(settings, store, server.url + "/blog", FeedOptions(), name=None, now=NOW)
    with pytest.raises(UsageError, match="HTTP 404"):
        add_feed(settings, store, server.url + "/nothing", FeedOptions(), name=None, now=NOW)
    with pytest.raises(UsageError, match="unknown channel"):
        add_feed(settings, store, server.feed_url(), FeedOptions(channels=["tiktok"]), name=None, now=NOW)
    assert store.feeds() == []
