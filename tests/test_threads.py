"""The Threads adapter against a strict local Threads API (tests/fakes/meta.py) and through the runner."""
from __future__ import annotations

from datetime import timedelta

import pytest

from postbot.errors import ConfigError, RateLimited, Rejected, Retryable
from postbot.models import Channel, Post, State
from postbot.platforms.base import Prepared
from postbot.platforms.threads import ThreadsSender
from tests.fakes.meta import ThreadsFake, graph_error, sent_before_a_crash, threads_length
from tests.helpers import (NOW, Clock, add_delivery, call_adapter, check, crash_mid_publish, part, queue_post,
                           run_once, seed_post, settings_for, sqlite_store)

TOKEN = "THQWJ-threads-token-1"
USER = "25000000000001"
POST = Post(source="post.md", slug="hip-thrust", title="The Hip Thrust", body="A body.",
            url="https://example.com/hip-thrust")


@pytest.fixture
def fake():
    with ThreadsFake(user_id=USER) as server:
        server.grant(TOKEN, owner=USER)
        yield server


def channel(fake: ThreadsFake, **settings: str) -> Channel:
    values = {"API_URL": fake.api_url, "USER_ID": USER, "ACCESS_TOKEN": TOKEN}
    values.update(settings)
    return Channel("threads", "threads", "threads", settings=values)


class Saved(dict):
    """ctx.progress that also remembers what the fake had received when each save happened."""

    def __init__(self, fake: ThreadsFake, initial=None):
        super().__init__(initial or {})
        self.fake, self.publishes_at_save = fake, []

    def save(self, update):
        self.publishes_at_save.append(len(publish_calls(self.fake)))
        self.update(update)


def publish_calls(fake):
    return [r for r in fake.requests if r.path.endswith("/threads_publish")]


def create_calls(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/threads")]


def call(publisher, method: str, payload, progress: Saved, timeout: float = 5.0, sleeps: list | None = None):
    async def sleep(seconds: float) -> None:            # recorded, never waited
        if sleeps is not None:
            sleeps.append(seconds)
    return call_adapter(publisher, method, payload, progress, timeout=timeout, save_progress=progress.save,
                        sleep=sleep)


def payload(text="Hip thrusts, again https://example.com/hip-thrust"):
    return ThreadsSender(Channel("threads", "threads", "threads")).rules.build_payload(Prepared(text, []), POST)


# ---- the two steps ---------------------------------------------------------------------------------
def test_container_is_saved_before_it_is_published(fake):
    publisher, progress = ThreadsSender(channel(fake)), Saved(fake)
    published = call(publisher, "publish", payload(), progress)
    [create] = create_calls(fake)
    assert create.form() == {"media_type": ["TEXT"], "text": ["Hip thrusts, again https://example.com/hip-thrust"],
                             "link_attachment": ["https://example.com/hip-thrust"], "access_token": [TOKEN]}
    container = progress["threads_container"]
    assert progress.publishes_at_save == [0]
    assert publish_calls(fake)[0].form() == {"creation_id": [container], "access_token": [TOKEN]}
    [media] = fake.media.values()
    assert published.remote_id == media["id"] != container
    assert published.remote_url == media["permalink"]
    assert all(not any("access_token" in k for k in r.query) for r in fake.requests)


def test_a_container_in_progress_is_polled_within_the_attempt(fake):
    fake.processing_polls = 2                   # the first two status reads answer IN_PROGRESS
    publisher, progress, sleeps = ThreadsSender(channel(fake)), Saved(fake), []
    published = call(publisher, "publish", payload(), progress, sleeps=sleeps)
    assert sleeps == [1.0, 2.0]                 # published as soon as it is FINISHED
    assert len(create_calls(fake)) == 1 and len(fake.media) == 1 and published.remote_id in fake.media


def test_a_container_still_processing_after_15s_is_retried_never_recreated(fake):
    fake.processing_polls = 5                   # IN_PROGRESS for the whole first attempt
    publisher, progress, sleeps = ThreadsSender(channel(fake)), Saved(fake), []
    with pytest.raises(Retryable) as caught:
        call(publisher, "publish", payload(), progress, sleeps=sleeps)
    assert sleeps == [1.0, 2.0, 4.0, 8.0] and "after 15 s" in str(caught.value)
    assert caught.value.sent is False and caught.value.after == NOW + timedelta(seconds=30)
    assert not publish_calls(fake)
    published = call(publisher, "publish", payload(), progress)
    assert len(create_calls(fake)) == 1 and len(fake.media) == 1 and published.remote_id in fake.media


def test_an_expired_container_is_replaced_and_an_errored_one_rejected(fake):
    publisher, progress = ThreadsSender(channel(fake)), Saved(fake)
    fake.processing_polls = 5
    with pytest.raises(Retryable):
        call(publisher, "publish", payload(), progress)
    fake.containers[progress["threads_container"]]["status"] = "EXPIRED"
    fake.processing_polls = 0
    call(publisher, "publish", payload(), progress)
    assert len(create_calls(fake)) == 2 and len(fake.media) == 1

    broken = Saved(fake)
    fake.processing_polls = 10
    with pytest.raises(Retryable):
        call(publisher, "publish", payload("another"), broken)
    fake.containers[broken["threads_container"]].update(status="ERROR", error={"error_message": "UNKNOWN"})
    with pytest.raises(Rejected, match=r"\(ERROR\): UNKNOWN"):
        call(publisher, "publish", payload("another"), broken)


def test_a_publish_answer_lost_in_transit_is_found_by_the_container_status(fake):
    fake.publish_delay = 1.0
    publisher, progress = ThreadsSender(channel(fake)), Saved(fake)
    published = call(publisher, "publish", payload(), progress, timeout=0.3)
    [media] = fake.media.values()
    assert published.remote_id == media["id"] and published.remote_url == media["permalink"]
    assert len(publish_calls(fake)) == 1


# ---- limits, as Threads counts them ----------------------------------------------------------------
def test_emoji_count_as_utf8_bytes_against_the_500_limit(fake):
    publisher = ThreadsSender(channel(fake))
    assert threads_length("👍") == 4 and threads_length("é") == 1
    call(publisher, "publish", payload("a" * 500), Saved(fake))
    with pytest.raises(Rejected, match="at most 500 characters"):
        call(publisher, "publish", payload("👍" * 126), Saved(fake))        # 126 emoji = 504 bytes
    assert len(fake.media) == 1


def test_more_than_five_distinct_links_is_refused(fake):
    publisher = ThreadsSender(channel(fake))
    text = " ".join(f"https://example.com/{i}" for i in range(6))
    with pytest.raises(Rejected, match="THREADS_API__LINK_LIMIT_EXCEEDED"):
        call(publisher, "publish", payload(text), Saved(fake))
    assert publisher.rules.violations(Prepared(text, [f"https://example.com/{i}" for i in range(6)]))


# ---- errors -----------------------------------------------------------------------------------
def test_bad_token_is_rejected_naming_the_setting(fake):
    publisher = ThreadsSender(channel(fake, ACCESS_TOKEN="THQWJ-old"))
    with pytest.raises(Rejected) as caught:
        call(publisher, "publish", payload(), Saved(fake))
    assert "THREADS_ACCESS_TOKEN" in str(caught.value) and "THQWJ-old" not in str(caught.value)


def test_throttled_container_creation_is_rate_limited(fake):
    fake.script["threads"] = [graph_error(4, "(#4) Application request limit reached")]
    with pytest.raises(RateLimited) as caught:
        call(ThreadsSender(channel(fake)), "publish", payload(), Saved(fake))
    assert caught.value.until == NOW + timedelta(hours=1)


def test_a_5xx_while_creating_the_container_is_safe_to_retry(fake):
    fake.script["threads"] = [graph_error(2, "Service temporarily unavailable", status=503)]
    with pytest.raises(Retryable) as caught:
        call(ThreadsSender(channel(fake)), "publish", payload(), Saved(fake))
    assert caught.value.sent is False          # a container is not a post


# ---- recover() ------------------------------------------------------------------------------------
def test_recover_finds_a_published_container_and_knows_an_unsent_one(fake):
    publisher = ThreadsSender(channel(fake))
    assert call(publisher, "recover", payload(), Saved(fake)) is None                  # no container saved
    progress = Saved(fake)
    published = call(publisher, "publish", payload(), progress)
    found = call(publisher, "recover", payload(), Saved(fake, dict(progress)))
    assert found.remote_id == published.remote_id and found.remote_url == published.remote_url
    fake.processing_polls = 5
    unsent = Saved(fake)
    with pytest.raises(Retryable):
        call(publisher, "publish", payload("not yet"), unsent)
    assert call(publisher, "recover", payload("not yet"), Saved(fake, dict(unsent))) is None


# ---- check() ------------------------------------------------------------------------------------
def test_check_good_and_bad_tokens(fake):
    assert check(ThreadsSender(channel(fake))) == f"@lewisrobinsonfitness ({USER})"
    with pytest.raises(ConfigError, match="THREADS_ACCESS_TOKEN"):
        check(ThreadsSender(channel(fake, ACCESS_TOKEN="wrong")))


# ---- through the runner ----------------------------------------------------------------------------
def env_for(fake: ThreadsFake) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "threads", "THREADS_API_URL": fake.api_url, "THREADS_USER_ID": USER,
            "THREADS_ACCESS_TOKEN": TOKEN, "POSTBOT_MAX_ATTEMPTS": "3"}


def add(store, text="Through the runner https://example.com/hip-thrust"):
    return add_delivery(store, "threads", [part(text, payload(text))], slug="hip-thrust", source="post.md",
                        url=POST.url)


def run(store, settings, clock):
    return run_once(store, settings, clock, backoff_base=5)


def test_runner_publishes_a_2s_container_3s_after_it_was_due(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    fake.clock, fake.processing_seconds = clock, 2.0
    assert run(store, settings_for(env_for(fake)), clock) == 1
    done = store.get(delivery.id)
    [container] = fake.containers.values()
    assert done.state is State.PUBLISHED and clock.slept == [1.0, 2.0]
    assert container["published_at"] - delivery.due_at == timedelta(seconds=3)        # not 30 s later
    assert len(store.attempts(delivery.id)) == 1


def test_runner_waits_30s_for_a_container_still_slow_after_15s(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    fake.clock, fake.processing_seconds = clock, 20.0
    run(store, settings_for(env_for(fake)), clock)
    waiting = store.get(delivery.id)
    assert clock.slept == [1.0, 2.0, 4.0, 8.0]
    assert waiting.state is State.SCHEDULED and waiting.next_attempt_at == NOW + timedelta(seconds=45)
    assert "threads_container" in waiting.progress and "sending" not in waiting.progress
    clock.advance(seconds=30)
    assert run(store, settings_for(env_for(fake)), clock) == 1
    done = store.get(delivery.id)
    [media] = fake.media.values()
    assert done.state is State.PUBLISHED and done.remote_id == media["id"] and done.remote_url == media["permalink"]
    assert len(create_calls(fake)) == 1


def test_crash_after_publishing_is_recovered_by_the_container_lookup(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    text = "Crashed right after publishing https://example.com/hip-thrust"
    delivery = add(store, text)
    container = sent_before_a_crash(fake, payload(text), TOKEN)
    crash_mid_publish(store, {"sending": 0, "threads_container": container})
    clock.advance(minutes=5)
    run(store, settings_for(env_for(fake)), clock)
    done = store.get(delivery.id)
    [media] = fake.media.values()
    assert done.state is State.PUBLISHED and done.remote_id == media["id"]
    assert len(publish_calls(fake)) == 1 and len(create_calls(fake)) == 1


def test_crash_before_publishing_publishes_the_saved_container_once(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    text = "Crashed before publishing"
    delivery = add(store, text)
    container = sent_before_a_crash(fake, payload(text), TOKEN, publish=False)
    crash_mid_publish(store, {"sending": 0, "threads_container": container})
    clock.advance(minutes=5)
    assert run(store, settings_for(env_for(fake)), clock) == 1
    assert store.get(delivery.id).state is State.PUBLISHED
    assert len(fake.media) == 1 and len(create_calls(fake)) == 1
    assert publish_calls(fake)[0].form()["creation_id"] == [container]


def test_crash_before_any_container_starts_afresh(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    crash_mid_publish(store)
    clock.advance(minutes=5)
    assert run(store, settings_for(env_for(fake)), clock) == 1
    assert store.get(delivery.id).state is State.PUBLISHED and len(fake.media) == 1


# ---- rendered, queued and published: the whole pipeline ------------------------------------------
def test_queued_render_reaches_threads_within_its_limits(tmp_path, fake):
    from postbot.models import CTA
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for(env_for(fake))
    body = "Do I think the Hip Thrust is a good exercise? 💪 " * 30          # far over 500, emoji-heavy
    post = Post(source="post.md", slug="hip-thrust", title="T", body=body.strip(), url="https://example.com/hip-thrust",
                ctas=[CTA("Personal Training", "https://example.com/pt")], tags=["fitness"])
    delivery, _ = queue_post(post, store, settings)
    assert run(store, settings, clock) == 1
    [media] = fake.media.values()
    assert media["text"] == delivery.parts[0].text and threads_length(media["text"]) <= 500
    assert "https://example.com/pt?utm_source=threads" in media["text"]
    assert store.get(delivery.id).remote_url == media["permalink"]


def test_link_attachment_never_makes_a_sixth_link():
    links = [f"https://example.com/{i}" for i in range(5)]
    built = ThreadsSender(Channel("threads", "threads", "threads")).rules.build_payload(
        Prepared(" ".join(links), links), POST)
    assert "link_attachment" not in built


def test_the_seed_article_fits_and_reaches_threads(tmp_path, fake):
    from postbot.render import Renderer
    settings = settings_for(env_for(fake))
    assert Renderer().render(seed_post(), settings.channel("threads")).fits
    post = seed_post(repair=True)
    store, clock = sqlite_store(tmp_path), Clock()
    delivery, _ = queue_post(post, store, settings)
    assert run(store, settings, clock) == 1
    [media] = fake.media.values()
    assert media["text"] == delivery.parts[0].text and threads_length(media["text"]) <= 500
    assert post.ctas[0].label in media["text"]
