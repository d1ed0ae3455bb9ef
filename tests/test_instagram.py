"""The Instagram adapter against a strict local Instagram API (tests/fakes/meta.py) and through the runner."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from postbot.errors import ConfigError, RateLimited, Rejected, Retryable
from postbot.models import Channel, Post, State
from postbot.platforms.base import Prepared
from postbot.platforms.instagram import InstagramSender
from tests.fakes.meta import InstagramFake, graph_error, sent_before_a_crash
from tests.helpers import (NOW, Clock, add_delivery, call_adapter, check, crash_mid_publish, part, queue_post,
                           run_once, seed_post, settings_for, sqlite_store)

TOKEN = "IGAAB-instagram-token-1"
USER = "17841400000000099"
IMAGE = "https://cdn.example.com/img/hip-thrust.jpg"
POST = Post(source="post.md", slug="hip-thrust", title="The Hip Thrust", body="A body.",
            url="https://example.com/hip-thrust", image=IMAGE, image_alt="A man doing a hip thrust")


@pytest.fixture
def fake():
    with InstagramFake(user_id=USER) as server:
        server.grant(TOKEN, owner=USER)
        yield server


def channel(fake: InstagramFake | None = None, **settings: str) -> Channel:
    values = {"API_URL": fake.api_url if fake else "", "USER_ID": USER, "ACCESS_TOKEN": TOKEN}
    values.update(settings)
    return Channel("instagram", "instagram", "instagram", settings=values)


def payload(text="Hip thrusts, again.\n\nRead more: link in bio", post=POST, **settings):
    return InstagramSender(channel(**settings)).rules.build_payload(Prepared(text, []), post)


def calls(fake, edge):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith(f"/{edge}")]


# ---- refusing what can never be published ----------------------------------------------------------
def post_with(image, source="post.md"):
    return Post(source=source, slug="s", title="T", body="b", image=image)


def test_posts_without_a_public_jpeg_are_refused_at_queue_time(tmp_path):
    publisher = InstagramSender(channel())
    assert "without an image" in publisher.refuse(post_with(None))
    assert "only JPEG" in publisher.refuse(post_with("https://cdn.example.com/a.png"))
    assert "INSTAGRAM_IMAGE_BASE_URL" in publisher.refuse(post_with("hero.jpg"))
    assert publisher.refuse(post_with(IMAGE)) is None
    assert publisher.refuse(post_with("https://cdn.example.com/image?id=3")) is None   # cannot tell: Instagram will
    with_base = InstagramSender(channel(IMAGE_BASE_URL="https://cdn.example.com/up"))
    assert with_base.refuse(post_with("hero.jpg")) is None
    # A local file is judged by its bytes, whatever its name says.
    (tmp_path / "fake.jpg").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "real.jpeg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 16)
    source = str(tmp_path / "post.md")
    assert "only JPEG" in with_base.refuse(post_with("fake.jpg", source))
    assert with_base.refuse(post_with("real.jpeg", source)) is None


def test_local_image_is_sent_from_the_base_url():
    local = Post(source="p.md", slug="s", title="T", body="b", image="img/hero shot.jpg", image_alt="alt")
    assert payload(post=local, IMAGE_BASE_URL="https://cdn.example.com/up/")["image_url"] == \
        "https://cdn.example.com/up/hero%20shot.jpg"


def test_hashtag_and_mention_limits_are_rules():
    publisher = InstagramSender(channel())
    assert publisher.rules.violations(Prepared(" ".join(f"#t{i}" for i in range(31)), [])) == \
        ["31 hashtags, Instagram allows 30"]
    assert publisher.rules.violations(Prepared(" ".join(f"#t{i}" for i in range(30)), [])) == []
    assert publisher.rules.violations(Prepared(" ".join(f"@u{i}" for i in range(21)), []))


# ---- the two steps ---------------------------------------------------------------------------------
def test_container_with_image_caption_and_alt_text_then_publish(fake):
    publisher, progress = InstagramSender(channel(fake)), {}
    published = call_adapter(publisher, "publish", payload(), progress)
    [create] = calls(fake, "media")
    assert create.form() == {"caption": ["Hip thrusts, again.\n\nRead more: link in bio"], "image_url": [IMAGE],
                             "alt_text": ["A man doing a hip thrust"], "access_token": [TOKEN]}
    container = progress["instagram_container"]
    assert calls(fake, "media_publish")[0].form() == {"creation_id": [container], "access_token": [TOKEN]}
    [media] = fake.media.values()
    assert published.remote_id == media["id"] and published.remote_url == media["permalink"]
    assert all("access_token" not in r.query for r in fake.requests)


def test_in_progress_is_polled_then_retried_in_30s_with_the_same_container(fake):
    fake.processing_polls = 7                   # IN_PROGRESS for 5 reads, then 2 more
    publisher, progress = InstagramSender(channel(fake)), {}
    with pytest.raises(Retryable) as caught:
        call_adapter(publisher, "publish", payload(), progress)
    assert caught.value.sent is False and caught.value.after == NOW + timedelta(seconds=30)
    assert len(fake.containers[progress["instagram_container"]]["status_reads"]) == 5
    call_adapter(publisher, "publish", payload(), progress)   # polled again within this attempt
    assert len(calls(fake, "media")) == 1 and len(fake.media) == 1


def test_an_errored_container_is_rejected_and_an_expired_one_replaced(fake):
    fake.processing_polls = 5
    publisher, progress = InstagramSender(channel(fake)), {}
    with pytest.raises(Retryable):
        call_adapter(publisher, "publish", payload(), progress)
    container = fake.containers[progress["instagram_container"]]
    container.update(status="ERROR", error={"status": "Error: 2207001"})
    with pytest.raises(Rejected, match="2207001"):
        call_adapter(publisher, "publish", payload(), progress)
    assert not fake.media
    container["status"] = "EXPIRED"
    fake.processing_polls = 0
    call_adapter(publisher, "publish", payload(), progress)
    assert len(calls(fake, "media")) == 2 and len(fake.media) == 1


def test_caption_limits_as_instagram_counts_them(fake):
    publisher = InstagramSender(channel(fake))
    with pytest.raises(Rejected, match="exceeds 2200"):
        call_adapter(publisher, "publish", payload("😀" * 1101), {})            # 2202 UTF-16 units
    with pytest.raises(Rejected, match="31 hashtags"):
        call_adapter(publisher, "publish", payload(" ".join(f"#tag{i}" for i in range(31))), {})
    call_adapter(publisher, "publish", payload("😀" * 1100), {})
    assert len(fake.media) == 1


def test_non_jpeg_url_is_rejected_by_instagram(fake):
    png = Post(source="p.md", slug="s", title="T", body="b", image="https://cdn.example.com/a.png")
    with pytest.raises(Rejected, match="JPEG"):
        call_adapter(InstagramSender(channel(fake)), "publish", payload(post=png), {})


def test_publish_answer_lost_in_transit_is_found_by_the_container_status(fake):
    fake.publish_delay = 1.0
    published = call_adapter(InstagramSender(channel(fake)), "publish", payload(), {}, timeout=0.3)
    [media] = fake.media.values()
    assert published.remote_id == media["id"] and len(calls(fake, "media_publish")) == 1


def test_errors_map_like_the_graph_api(fake):
    with pytest.raises(Rejected, match="INSTAGRAM_ACCESS_TOKEN"):
        call_adapter(InstagramSender(channel(fake, ACCESS_TOKEN="IGAAB-old")), "publish", payload(), {})
    fake.script["media_publish"] = [graph_error(4, "(#4) Application request limit reached")]
    with pytest.raises(RateLimited):
        call_adapter(InstagramSender(channel(fake)), "publish", payload(), {})


def test_recover(fake):
    publisher = InstagramSender(channel(fake))
    assert call_adapter(publisher, "recover", payload(), {}) is None
    progress: dict = {}
    published = call_adapter(publisher, "publish", payload(), progress)
    assert call_adapter(publisher, "recover", payload(), dict(progress)).remote_id == published.remote_id


def test_check_good_and_bad_tokens(fake):
    assert check(InstagramSender(channel(fake))) == f"@lewisrobinsonfitness ({USER})"
    with pytest.raises(ConfigError, match="INSTAGRAM_ACCESS_TOKEN"):
        check(InstagramSender(channel(fake, ACCESS_TOKEN="wrong")))


# ---- through the runner ----------------------------------------------------------------------------
def env_for(fake: InstagramFake) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "instagram", "INSTAGRAM_API_URL": fake.api_url, "INSTAGRAM_USER_ID": USER,
            "INSTAGRAM_ACCESS_TOKEN": TOKEN, "POSTBOT_MAX_ATTEMPTS": "3"}


def add(store, text="Through the runner. Link in bio"):
    return add_delivery(store, "instagram", [part(text, payload(text))], slug="hip-thrust", source="post.md",
                        url=POST.url)


def run(store, settings, clock):
    return run_once(store, settings, clock, backoff_base=5)


def test_runner_publishes_a_2s_container_3s_after_it_was_due(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    fake.clock, fake.processing_seconds = clock, 2.0
    assert run(store, settings_for(env_for(fake)), clock) == 1
    [container] = fake.containers.values()
    assert store.get(delivery.id).state is State.PUBLISHED and clock.slept == [1.0, 2.0]
    assert container["published_at"] - delivery.due_at == timedelta(seconds=3)


def test_runner_publishes_after_the_container_is_ready(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    fake.processing_polls = 5
    run(store, settings_for(env_for(fake)), clock)
    assert clock.now == NOW + timedelta(seconds=15)            # 1 + 2 + 4 + 8 s of polling, then a retry
    assert store.get(delivery.id).next_attempt_at == NOW + timedelta(seconds=45)
    clock.advance(seconds=30)
    assert run(store, settings_for(env_for(fake)), clock) == 1
    done = store.get(delivery.id)
    [media] = fake.media.values()
    assert done.state is State.PUBLISHED and done.remote_url == media["permalink"]
    assert len(calls(fake, "media")) == 1


def test_crash_after_publishing_is_resolved_by_the_container_lookup(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    container = sent_before_a_crash(fake, payload("Through the runner. Link in bio"), TOKEN)
    crash_mid_publish(store, {"sending": 0, "instagram_container": container})
    clock.advance(minutes=5)
    run(store, settings_for(env_for(fake)), clock)
    done = store.get(delivery.id)
    [media] = fake.media.values()
    assert done.state is State.PUBLISHED and done.remote_id == media["id"]
    assert len(calls(fake, "media_publish")) == 1


# ---- rendered, queued and published: the whole pipeline ------------------------------------------
def test_queued_render_reaches_instagram_and_a_post_without_image_is_refused(tmp_path, fake):
    from postbot.models import CTA
    from postbot.app import plan
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for(dict(env_for(fake), INSTAGRAM_IMAGE_BASE_URL="https://cdn.example.com/up"))
    post = Post(source=str(tmp_path / "post.md"), slug="hip-thrust", title="T", body="Love it or hate it.",
                url="https://example.com/hip-thrust", ctas=[CTA("Personal Training", "https://example.com/pt")],
                tags=["fitness"], image="hero.jpg", image_alt="A hip thrust")
    without_image = Post(**{**post.__dict__, "image": None})
    with pytest.raises(ConfigError, match="channel instagram: Instagram cannot publish without an image"):
        plan(without_image, list(settings.channels), settings, at="now", now=NOW, store=store)
    delivery, _ = queue_post(post, store, settings)
    assert run(store, settings, clock) == 1
    [media] = fake.media.values()
    assert media["caption"] == delivery.parts[0].text and "Personal Training: link in bio" in media["caption"]
    assert "http" not in media["caption"]
    assert media["params"]["image_url"] == "https://cdn.example.com/up/hero.jpg"
    assert media["params"]["alt_text"] == "A hip thrust"


def test_the_seed_article_with_an_image_fits_and_reaches_instagram(tmp_path, fake):
    from postbot.app import plan
    from postbot.render import Renderer
    settings = settings_for(env_for(fake))
    bare = seed_post()
    render = Renderer().render(bare, settings.channel("instagram"))
    assert render.fits and any("without an image" in w for w in render.warnings)
    store = sqlite_store(tmp_path)
    with pytest.raises(ConfigError, match="without an image"):
        plan(bare, list(settings.channels), settings, at="now", now=NOW, store=store)
    post = dataclasses.replace(seed_post(repair=True), image=IMAGE, image_alt="A hip thrust on a bench")
    delivery, _ = queue_post(post, store, settings)
    assert run(store, settings, Clock()) == 1
    [media] = fake.media.values()
    assert media["caption"] == delivery.parts[0].text and "link in bio" in media["caption"]
    assert media["params"]["image_url"] == IMAGE
