"""Discord webhooks: the adapter against a strict local webhook, then the whole pipeline through the runner."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from postbot.errors import ConfigError, RateLimited, Rejected
from postbot.models import Post, State
from postbot.platforms.base import MemoryState, Prepared
from postbot.platforms.discord import DiscordSender, with_wait
from tests.fakes.webpages import png
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, WEBHOOK_TOKEN, FakeDiscord, units
from tests.helpers import (NOW, Clock, assert_unknown, call_adapter, check, queue_seed, run_after_a_crash, run_once,
                           run_through_an_outage, seed_post, settings_for)


@pytest.fixture
def fake():
    with FakeDiscord() as server:
        yield server


def publisher(url: str, state=None, **extra) -> DiscordSender:
    env = {"POSTBOT_CHANNELS": "discord", "DISCORD_WEBHOOK_URL": url, **extra}
    return DiscordSender(settings_for(env).channel("discord"), state or MemoryState())


def publish(sender: DiscordSender, payload: dict):
    return call_adapter(sender, "publish", payload, state=sender.state)


CARD = {"content": "Hip thrusts: overrated?", "allowed_mentions": {"parse": []},
        "embeds": [{"url": "https://example.com/p", "title": "Hip Thrust", "description": "A teaser."}]}


def test_fake_drops_messages_sent_without_wait(fake):
    response = httpx.post(fake.webhook_url(), json={"content": "lost"})
    assert response.status_code == 204 and fake.dropped == [{"content": "lost"}] and not fake.posted


def test_executes_with_wait_true_and_links_the_message(fake):
    sender = publisher(fake.webhook_url())
    published = publish(sender, CARD)
    lookup, execute = fake.requests
    assert (lookup.method, execute.method) == ("GET", "POST")
    assert execute.query == {"wait": ["true"]} and execute.json() == CARD
    [posted] = fake.posted
    assert published.remote_id == posted.id
    assert published.remote_url == f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{posted.id}"
    publish(sender, CARD)                                  # the webhook object is remembered
    assert [r.method for r in fake.requests] == ["GET", "POST", "POST"] and not fake.dropped


def test_wait_is_added_to_a_url_that_already_has_a_query(fake):
    assert with_wait("https://discord.com/api/webhooks/1/t?thread_id=9&wait=false") == \
        "https://discord.com/api/webhooks/1/t?thread_id=9&wait=true"
    publish(publisher(fake.webhook_url() + "?thread_id=77&wait=false"), CARD)
    assert fake.posted[0].query == {"thread_id": ["77"], "wait": ["true"]} and not fake.dropped


def test_username_and_clipped_card_fit_the_embed_limits(fake):
    sender = publisher(fake.webhook_url(), DISCORD_USERNAME="Lewis")
    post = Post(source="p.md", slug="p", title="T" * 300, body="word " * 2000, url="https://example.com/p")
    payload = sender.rules.build_payload(Prepared("hello", []), post)
    assert payload["username"] == "Lewis" and len(payload["embeds"][0]["title"]) == 256
    publish(sender, payload)
    assert fake.posted[0].body["embeds"][0]["title"].endswith("…")


def test_local_image_goes_as_multipart_with_alt_text(fake, tmp_path):
    (tmp_path / "squat.png").write_bytes(png(2, 2))
    post = Post(source=str(tmp_path / "p.md"), slug="p", title="T", body="b", url="https://example.com/p",
                image="squat.png", image_alt="A barbell squat")
    sender = publisher(fake.webhook_url())
    assert sender.refuse(post) is None
    payload = sender.rules.build_payload(Prepared("hello", []), post)
    publish(sender, payload)
    posted = fake.posted[0]
    assert fake.requests[-1].headers["content-type"].startswith("multipart/form-data")
    assert posted.files["files[0]"][:1] == ("squat.png",) and posted.files["files[0]"][2] == png(2, 2)
    assert posted.body["attachments"] == [{"id": 0, "filename": "squat.png", "description": "A barbell squat"}]
    assert "files" not in posted.body
    assert "not found" in sender.refuse(Post(source=str(tmp_path / "p.md"), slug="p", title="T", body="b",
                                             image="nope.png"))


def test_limits_are_enforced_with_discords_error_shape(fake):
    with pytest.raises(Rejected) as caught:
        publish(publisher(fake.webhook_url()), {"content": "x" * 2001, "allowed_mentions": {"parse": []}})
    assert "content: Must be 2000 or fewer in length." in str(caught.value) and "50035" in str(caught.value)
    with pytest.raises(Rejected) as caught:
        publish(publisher(fake.webhook_url()), {"content": "x", "embeds": [{"title": "t" * 257}]})
    assert "embeds.0.title" in str(caught.value)
    assert not fake.posted


def test_429_waits_for_the_body_retry_after(fake):
    fake.rate_limited = 3.5
    with pytest.raises(RateLimited) as caught:
        publish(publisher(fake.webhook_url()), CARD)
    assert caught.value.until == NOW + timedelta(seconds=3.5)


def test_deleted_webhook_breaks_the_channel_until_the_url_changes(fake):
    state = MemoryState()
    sender = publisher(fake.webhook_url(), state)
    publish(sender, CARD)
    fake.delete_webhook()
    with pytest.raises(Rejected) as caught:
        publish(sender, CARD)
    assert "webhook was deleted" in str(caught.value) and "DISCORD_WEBHOOK_URL" in str(caught.value)
    assert WEBHOOK_TOKEN not in str(caught.value) and state.get("broken")
    before = len(fake.requests)
    with pytest.raises(ConfigError, match="webhook was deleted"):          # a setting to fix: nothing sent
        publish(sender, CARD)
    assert len(fake.requests) == before                                    # never used again
    with pytest.raises(ConfigError, match="webhook was deleted"):
        check(sender)
    assert "deleted" in sender.missing_settings()[0]
    fake.hooks["1300000000000000002"] = {"token": "new-token", "channel_id": CHANNEL_ID, "guild_id": GUILD_ID,
                                         "name": "Postbot"}
    fresh = publisher(fake.webhook_url("1300000000000000002", "new-token"), state)
    assert fresh.missing_settings() == []
    assert publish(fresh, CARD).remote_id == fake.posted[-1].id


def test_wrong_token_is_rejected_without_showing_it(fake):
    with pytest.raises(Rejected) as caught:
        publish(publisher(fake.webhook_url(token="wrong-token")), CARD)
    assert caught.value.status == 401 and "DISCORD_WEBHOOK_URL" in str(caught.value)
    assert "wrong-token" not in str(caught.value) and not fake.posted


def test_check_reads_the_webhook_object(fake):
    assert check(publisher(fake.webhook_url())) == f"webhook 'Postbot' posting to channel {CHANNEL_ID}"
    assert fake.requests[-1].method == "GET" and not fake.posted
    with pytest.raises(ConfigError, match="not a Discord webhook URL"):
        check(publisher("https://example.com/hook"))
    with pytest.raises(ConfigError, match="DISCORD_WEBHOOK_URL"):
        check(DiscordSender(settings_for({"POSTBOT_CHANNELS": "discord"}).channel("discord")))


# ---- the seed through the real pipeline: render, queue, run --------------------------------------------
def env(fake, **extra):
    return {"POSTBOT_CHANNELS": "discord", "DISCORD_WEBHOOK_URL": fake.webhook_url(), **extra}


def test_seed_preview_fits_discords_limits():
    from postbot.render import Renderer
    channel = settings_for({"POSTBOT_CHANNELS": "discord"}).channel("discord")
    render = Renderer().render(seed_post(), channel)
    assert render.fits and units(render.payload["content"]) == render.length <= 2000
    assert render.payload["allowed_mentions"] == {"parse": []}


def test_seed_is_published_once_by_the_runner(tmp_path, fake):
    settings = settings_for(env(fake))
    store, delivery, render = queue_seed(tmp_path, settings)
    assert run_once(store, settings, Clock()) == 1
    done = store.get(delivery.id)
    [posted] = fake.posted
    assert done.state is State.PUBLISHED and done.remote_id == posted.id
    assert done.remote_url == f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{posted.id}"
    assert posted.body == render.payload and posted.query["wait"] == ["true"] and not fake.dropped
    # The seed has no URL of its own: its card links the first CTA exactly as the content does.
    [card] = posted.body["embeds"]
    first = seed_post().ctas[0]
    assert card["url"].startswith(first.url) and "utm_source=discord" in card["url"]
    assert card["url"] in posted.body["content"] and card["title"] and card["description"]
    assert units(card["title"]) + units(card["description"]) <= 6000


def test_fake_refuses_a_linked_post_without_its_card(fake):
    with pytest.raises(Rejected, match="content links a page but no embed carries it"):
        publish(publisher(fake.webhook_url()), {"content": "Read https://example.com/p",
                                                "allowed_mentions": {"parse": []}})
    assert not fake.posted


def test_card_carries_title_url_teaser_and_the_image(fake, tmp_path):
    remote = Post(source="p.md", slug="p", title="Hip thrusts, reconsidered", body="Short teaser. " * 40,
                  url="https://example.com/p", image="https://cdn.example.com/a.jpg")
    [card] = publisher(fake.webhook_url()).rules.build_payload(Prepared("hi https://example.com/p", []), remote)["embeds"]
    assert (card["url"], card["title"], card["image"]) == ("https://example.com/p", "Hip thrusts, reconsidered",
                                                           {"url": "https://cdn.example.com/a.jpg"})
    assert card["description"].endswith("…") and units(card["description"]) <= 300
    kept = card["description"][:-1]
    assert remote.body.startswith(kept) and remote.body[len(kept)] == " ", "cut at a word"
    (tmp_path / "squat.png").write_bytes(png(2, 2))
    local = Post(source=str(tmp_path / "p.md"), slug="p", title="T", body="b", url="https://example.com/p",
                 image="squat.png")
    sender = publisher(fake.webhook_url())
    payload = sender.rules.build_payload(Prepared("hi https://example.com/p", []), local)
    assert payload["embeds"][0]["image"] == {"url": "attachment://squat.png"}
    publish(sender, payload)
    assert fake.posted[0].body["embeds"][0]["image"] == {"url": "attachment://squat.png"}
    with pytest.raises(Rejected, match=r"embeds.0.image.url"):
        publish(sender, {"content": "x", "embeds": [{"url": "https://e.com", "image": {"url": "attachment://b.png"}}]})


def test_rate_limit_holds_the_channel(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    fake.rate_limited = 12.25
    run_once(store, settings, clock)
    held = store.get(delivery.id)
    assert held.state is State.SCHEDULED and held.next_attempt_at == NOW + timedelta(seconds=12.25)
    assert "discord" in store.holds(clock())
    fake.rate_limited = None
    clock.advance(seconds=13)
    assert run_once(store, settings, clock) == 1 and len(fake.posted) == 1


def test_deleted_webhook_fails_and_status_says_so(tmp_path, fake):
    from postbot import app
    settings = settings_for(env(fake))
    store, delivery, _ = queue_seed(tmp_path, settings)
    fake.delete_webhook()
    run_once(store, settings, Clock())
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and "webhook was deleted" in failed.error
    assert WEBHOOK_TOKEN not in failed.error
    status = app.status(settings, store, NOW, offline=True)
    [channel] = status.channels
    assert channel.ready is False and "deleted" in channel.detail and not status.ready


def test_server_error_leaves_it_unknown_and_never_resends(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_through_an_outage(fake, 502, store, settings, clock, delivery.id)
    assert [r.method for r in fake.requests] == ["GET", "POST"] and not fake.posted


def test_crash_mid_publish_becomes_unknown_without_a_second_post(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_after_a_crash(store, settings, clock)
    assert_unknown(store, delivery.id)
    assert not [r for r in fake.requests if r.method == "POST"]
