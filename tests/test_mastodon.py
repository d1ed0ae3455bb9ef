"""The Mastodon adapter against a strict local instance (tests/fakes/mastodon.py) and the real runner."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest

from postbot.errors import ConfigError, RateLimited, Rejected
from postbot.models import Channel, Post, State
from postbot.platforms.base import MemoryState
from postbot.platforms.mastodon import MastodonSender
from tests.fakes.webpages import png
from tests.fakes.mastodon import TOKEN, FakeMastodon, countable_length
from tests.helpers import (NOW, Clock, add_delivery, call_adapter, check, crash_mid_publish, part, queue_post,
                           run_once, seed_post, settings_for, sqlite_store, thread_progress,
                           with_client)

PNG = png(2, 2)   # real bytes: postbot sniffs what it uploads
LONG_BODY = " ".join(f"Sentence number {i} says something about training the posterior chain well."
                     for i in range(1, 30))


@pytest.fixture
def fake():
    with FakeMastodon(clock=lambda: NOW) as server:
        yield server


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {"MASTODON_URL": url, "MASTODON_ACCESS_TOKEN": TOKEN, **extra}


def channel_for(env: dict[str, str]) -> Channel:
    return Channel("mastodon", "mastodon", "mastodon",
                   settings={k[9:]: v for k, v in env.items() if k.startswith("MASTODON_")})


def publish(publisher, payload, ctx_kwargs=None):
    """Each call a fresh Idempotency-Key unless `ctx_kwargs` names one: the fake dedupes by key."""
    return call_adapter(publisher, "publish", payload, **{"key": uuid.uuid4().hex, **(ctx_kwargs or {})})


def load_limits(publisher, now=NOW) -> list[str]:
    return with_client(lambda client: publisher.load_limits(client, now=now))


def add_statuses(store, payloads):
    return add_delivery(store, "mastodon", [part(p["status"], p) for p in payloads])


def status(text: str) -> dict:
    return {"status": text, "visibility": "public"}


# ---- idempotency ------------------------------------------------------------------------------------
def test_a_retry_after_a_timeout_reuses_the_key_and_creates_one_status(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_statuses(store, [status("slow instance today")])
    settings = settings_for({"POSTBOT_CHANNELS": "mastodon", **env_for(fake.url)})
    fake.delay_next_status = 1.0
    short = dict(client_factory=lambda kind: httpx.AsyncClient(timeout=0.3))
    run_once(store, settings, clock, **short)
    waiting = store.get(delivery.id)
    assert waiting.state is State.SCHEDULED and "no answer in time" in waiting.error
    clock.advance(seconds=30)
    assert run_once(store, settings, clock, **short) == 1
    sent = fake.status_requests()
    assert len(sent) == 2
    assert sent[0].headers["idempotency-key"] == sent[1].headers["idempotency-key"] == delivery.idempotency_key
    assert len(fake.statuses) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED and done.remote_id == fake.order[0]
    assert done.remote_url == f"https://social.example/@postbot/{fake.order[0]}"


def test_the_fake_forgets_keys_after_an_hour(fake):
    publisher = MastodonSender(channel_for(env_for(fake.url)))
    same_key = {"key": "one-key"}
    first = publish(publisher, status("once"), same_key)
    assert publish(publisher, status("once"), same_key).remote_id == first.remote_id
    assert publish(publisher, status("once"), {"key": "another-key"}).remote_id != first.remote_id
    fake.clock = lambda: NOW + timedelta(hours=1, seconds=1)
    assert publish(publisher, status("once"), same_key).remote_id not in (first.remote_id, fake.order[1])
    assert len(fake.statuses) == 3


# ---- limits ------------------------------------------------------------------------------------------------
def render_with_instance(max_characters: int, post: Post):
    from postbot.render import Renderer
    with FakeMastodon(max_characters=max_characters) as instance:
        channel = channel_for(env_for(instance.url))
        publisher = MastodonSender(channel, MemoryState())
        assert load_limits(publisher) == []
        assert publisher.state.get("max_characters") == max_characters
        render = Renderer().render(post, channel, publisher.rules)
        with httpx.Client() as client:
            answer = client.post(instance.url + "/api/v1/statuses", json=render.payload,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, answer.text
        return render


def test_a_1000_character_instance_gets_a_longer_teaser_than_a_500_one():
    post = Post(source="p.md", slug="p", title="Title", body=LONG_BODY, url="https://example.com/posts/p",
                teaser_strategy="lead")    # the first lines fill whatever room there is
    small, large = render_with_instance(500, post), render_with_instance(1000, post)
    assert small.limit == 500 and large.limit == 1000
    assert small.length <= 500 < large.length <= 1000
    assert len(large.text) > len(small.text)
    assert not any("instance limit unknown" in w for w in small.warnings + large.warnings)


def test_content_warning_counts_toward_the_limit_like_mastodon():
    post = Post(source="p.md", slug="p", title="Title", body=LONG_BODY, url="https://example.com/posts/p",
                content_warning="Strong opinions about glute exercises ahead")
    render = render_with_instance(500, post)
    assert render.payload["spoiler_text"] == post.content_warning
    assert render.length == countable_length(render.text, post.content_warning) <= 500


def test_the_content_warning_is_passed_with_each_post_not_remembered_by_the_rules():
    """One Rules object renders many posts: each counts its own warning, with or without a limit override."""
    from postbot.platforms.mastodon import MastodonRules
    from postbot.render import Renderer
    channel = channel_for(env_for("http://unused"))
    rules = MastodonRules(channel, MemoryState())
    warned = Post(source="p.md", slug="p", title="Title", body=LONG_BODY, url="https://example.com/posts/p",
                  content_warning="Strong opinions about glute exercises ahead",
                  overrides={"mastodon": {"limit": 480}})
    plain = Post(source="q.md", slug="q", title="Title", body=LONG_BODY, url="https://example.com/posts/q")
    first, second = Renderer().render(warned, channel, rules), Renderer().render(plain, channel, rules)
    assert first.limit == 480 and first.length == countable_length(first.text, warned.content_warning) <= 480
    assert "spoiler_text" not in second.payload and second.length == countable_length(second.text, "")


def test_the_fake_rejects_over_the_limit_counting_cw_urls_and_mentions(fake):
    publisher = MastodonSender(channel_for(env_for(fake.url)))
    url = "https://example.com/" + "a" * 200
    text = "x" * (500 - 23 - 5 - 1) + " " + url                   # 471 + 1 + 23 = 495
    assert publish(publisher, {"status": text, "spoiler_text": "12345"}).remote_id
    assert publish(publisher, {"status": "@someone@a.very.long.instance.example " + "y" * 490}).remote_id
    with pytest.raises(Rejected) as caught:
        publish(publisher, {"status": "x" + text, "spoiler_text": "12345"})
    assert caught.value.status == 422
    assert "Validation failed: Text character limit of 500 exceeded" in str(caught.value)


def test_unreachable_instance_keeps_500_with_a_warning():
    publisher = MastodonSender(channel_for(env_for("http://127.0.0.1:9")))
    warnings = load_limits(publisher)
    assert len(warnings) == 1 and "MASTODON_URL" in warnings[0] and "assuming 500" in warnings[0]
    assert publisher.rules.limit_for(None) == 500


def test_limits_are_cached_with_their_fetch_time(fake):
    publisher = MastodonSender(channel_for(env_for(fake.url)))
    load_limits(publisher, NOW)
    fake.max_characters = 900
    load_limits(publisher, NOW + timedelta(hours=1))
    assert publisher.rules.limit_for(None) == 500                        # fresh enough: not read again
    load_limits(publisher, NOW + timedelta(days=2))
    assert publisher.rules.limit_for(None) == 900
    assert [r.path for r in fake.requests] == ["/api/v2/instance"] * 2


def test_rendered_payload_carries_visibility_language_and_content_warning(fake):
    from postbot.render import Renderer
    channel = channel_for(env_for(fake.url, MASTODON_CONTENT_WARNING="Fitness talk"))
    publisher = MastodonSender(channel)
    post = Post(source="p.md", slug="p", title="Title", body="A short body.", lang="en-GB",
                visibility="unlisted")
    render = Renderer().render(post, channel, publisher.rules)
    published = publish(publisher, render.payload)
    created = fake.statuses[published.remote_id]
    assert (created["visibility"], created["language"], created["spoiler_text"]) == ("unlisted", "en", "Fitness talk")
    assert render.length == countable_length(render.text, "Fitness talk")


def test_posts_that_can_never_be_sent_are_refused_at_queue_time(tmp_path):
    publisher = MastodonSender(channel_for(env_for("http://unused", MASTODON_VISIBILITY="friends")))
    refusal = publisher.refuse(Post(source="p.md", slug="p", title="T", body="b"))
    assert "MASTODON_VISIBILITY" in refusal and "unlisted" in refusal
    ok = MastodonSender(channel_for(env_for("http://unused")))
    missing = ok.refuse(Post(source=str(tmp_path / "p.md"), slug="p", title="T", body="b", image="gone.png"))
    assert "gone.png" in missing and "not found" in missing
    long_alt = ok.refuse(Post(source="p.md", slug="p", title="T", body="b", image="x.png", image_alt="a" * 1501))
    assert "1500" in long_alt


# ---- errors ----------------------------------------------------------------------------------------------------
def test_429_waits_exactly_until_x_ratelimit_reset(tmp_path, fake):
    reset = NOW + timedelta(minutes=3, seconds=12, microseconds=345000)
    fake.rate_limit_reset = reset
    publisher = MastodonSender(channel_for(env_for(fake.url)))
    with pytest.raises(RateLimited) as caught:
        publish(publisher, status("hello"))
    assert caught.value.until == reset
    assert fake.requests[-1].path == "/api/v1/statuses"

    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_statuses(store, [status("after the limit")])
    settings = settings_for({"POSTBOT_CHANNELS": "mastodon", **env_for(fake.url)})
    run_once(store, settings, clock)
    held = store.get(delivery.id)
    assert held.state is State.SCHEDULED and held.next_attempt_at == reset and held.attempts == 0
    assert store.holds(clock())["mastodon"][0] == reset
    fake.rate_limit_reset = None
    clock.now = reset - timedelta(milliseconds=1)
    assert run_once(store, settings, clock) == 0
    clock.now = reset
    assert run_once(store, settings, clock) == 1
    assert fake.texts() == ["after the limit"]


def test_422_fails_at_once_with_the_instance_message(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_statuses(store, [status("z" * 501)])
    run_once(store, settings_for({"POSTBOT_CHANNELS": "mastodon", **env_for(fake.url)}), clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED
    assert "422" in failed.error and "Text character limit of 500 exceeded" in failed.error


def test_bad_token_is_rejected_naming_the_setting(fake):
    publisher = MastodonSender(channel_for(env_for(fake.url, MASTODON_ACCESS_TOKEN="revoked-token")))
    with pytest.raises(Rejected) as caught:
        publish(publisher, status("hello"))
    assert "MASTODON_ACCESS_TOKEN" in str(caught.value) and "revoked-token" not in str(caught.value)
    assert fake.statuses == {}


def test_check_names_the_account_or_the_token(fake):
    assert check(MastodonSender(channel_for(env_for(fake.url)))) == f"@postbot on {fake.url.split('//')[1]}"
    with pytest.raises(ConfigError) as caught:
        check(MastodonSender(channel_for(env_for(fake.url, MASTODON_ACCESS_TOKEN="revoked-token"))))
    assert "MASTODON_ACCESS_TOKEN" in str(caught.value) and "revoked-token" not in str(caught.value)


# ---- media -----------------------------------------------------------------------------------------------------
def test_image_waits_for_processing_without_reuploading(tmp_path, fake):
    image = tmp_path / "photo.png"
    image.write_bytes(PNG)
    store, clock = sqlite_store(tmp_path), Clock()
    payload = {**status("with a picture"), "_media": {"path_or_url": str(image), "alt": "A squat rack"}}
    delivery = add_statuses(store, [payload])
    settings = settings_for({"POSTBOT_CHANNELS": "mastodon", **env_for(fake.url)})
    run_once(store, settings, clock)
    waiting = store.get(delivery.id)
    assert waiting.state is State.SCHEDULED and "processing" in waiting.error
    assert fake.statuses == {}
    clock.now = waiting.next_attempt_at
    assert run_once(store, settings, clock) == 1
    uploads = [r for r in fake.requests if r.path == "/api/v2/media"]
    polls = [r for r in fake.requests if r.path.startswith("/api/v1/media/")]
    assert len(uploads) == 1 and len(polls) == 2
    (media_id,) = fake.media
    assert fake.media[media_id]["bytes"] == PNG and fake.media[media_id]["entity"]["description"] == "A squat rack"
    body = json.loads(fake.status_requests()[-1].body)
    assert body == {"status": "with a picture", "visibility": "public", "media_ids": [media_id]}


# ---- threads -----------------------------------------------------------------------------------------------------
THREAD = [f"Part {i} of the thread. {i}/5" for i in range(1, 6)]


def test_five_part_thread_is_chained_in_order(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_statuses(store, [status(t) for t in THREAD])
    assert run_once(store, settings_for({"POSTBOT_CHANNELS": "mastodon", **env_for(fake.url)}), clock) == 1
    assert fake.texts() == THREAD
    assert [fake.statuses[i]["in_reply_to_id"] for i in fake.order] == [None] + fake.order[:-1]
    keys = [r.headers["idempotency-key"] for r in fake.status_requests()]
    assert keys == [f"{delivery.idempotency_key}-{i}" for i in range(1, 6)]
    assert store.get(delivery.id).remote_id == fake.order[0]


def test_thread_survives_a_crash_mid_thread_without_duplicates(tmp_path, fake):
    """A daemon died after part 3 reached the instance but before it was recorded."""
    store = sqlite_store(tmp_path)
    delivery = add_statuses(store, [status(t) for t in THREAD])
    publisher = MastodonSender(channel_for(env_for(fake.url)))
    key = delivery.idempotency_key
    first = publish(publisher, status(THREAD[0]), {"key": f"{key}-1"})
    second = publish(publisher, status(THREAD[1]), {"key": f"{key}-2", "part_index": 1, "parent": first})
    publish(publisher, status(THREAD[2]), {"key": f"{key}-3", "part_index": 2, "parent": second})
    crash_mid_publish(store, thread_progress(first, second))
    clock = Clock(NOW + timedelta(seconds=61))
    assert run_once(store, settings_for({"POSTBOT_CHANNELS": "mastodon", **env_for(fake.url)}), clock) == 1
    assert fake.texts() == THREAD
    assert [fake.statuses[i]["in_reply_to_id"] for i in fake.order] == [None] + fake.order[:-1]
    assert len(fake.status_requests()) == 6                       # part 3 sent twice, created once


# ---- the real input --------------------------------------------------------------------------------------------
def test_seed_post_is_published_end_to_end(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for({"POSTBOT_CHANNELS": "mastodon", **env_for(fake.url)})
    delivery, render = queue_post(seed_post(), store, settings)
    assert run_once(store, settings, clock) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED and done.remote_id == fake.order[0]
    sent = fake.status_requests()
    assert len(sent) == len(render.parts)
    assert json.loads(sent[0].body)["status"] == render.parts[0].text
    assert sent[0].headers["idempotency-key"].startswith(delivery.idempotency_key)
