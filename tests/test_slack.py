"""Slack incoming webhooks: the adapter against a strict local webhook, then the whole pipeline."""
from __future__ import annotations

from datetime import timedelta

import pytest

from postbot.errors import ConfigError, RateLimited, Rejected
from postbot.models import Post, State
from postbot.platforms.base import MemoryState, Prepared
from postbot.platforms.slack import SlackSender
from tests.fakes.slack import SECRET, FakeSlack, mangled_at
from tests.helpers import (NOW, Clock, assert_unknown, call_adapter, check, queue_seed, run_after_a_crash, run_once,
                           run_through_an_outage, seed_post, settings_for)


@pytest.fixture
def fake():
    with FakeSlack(clock=lambda: 1000.0) as server:
        yield server


def publisher(url: str) -> SlackSender:
    return SlackSender(settings_for({"POSTBOT_CHANNELS": "slack", "SLACK_WEBHOOK_URL": url}).channel("slack"),
                          MemoryState())


def publish(sender: SlackSender, payload: dict, key: str = "key-1"):
    return call_adapter(sender, "publish", payload, key=key, state=sender.state)


def test_fake_spots_what_slack_would_misread():
    assert mangled_at("Q&amp;A &lt;3 <https://e.com/?a=1&amp;b=2|Read &gt; more>") is None
    assert [mangled_at(t) for t in ("Q&A", "a <3", "a > b", "<!channel> hi", "<@U123>")] == [1, 2, 2, 0, 0]


def test_escaped_text_and_links_are_posted_as_json(fake):
    sender = publisher(fake.webhook_url)
    text = (f"*{sender.rules.escape('Hip Thrust: <B***y> & more')}*\n\n{sender.rules.escape('Q&A >_<')}\n"
            f"{sender.rules.link('https://e.com/p?a=1&b=2', 'Read | more <here>')}")
    published = publish(sender, {"text": text}, key="delivery-key")
    [request] = fake.requests
    assert request.path == fake.webhook_url[len(fake.url):]
    assert request.headers["content-type"] == "application/json" and request.json() == {"text": text}
    assert fake.messages == [{"text": text}] and not fake.mangled
    assert published.remote_id == "delivery-key" and published.remote_url is None


def test_image_url_goes_as_an_image_block(fake):
    sender = publisher(fake.webhook_url)
    post = Post(source="p.md", slug="p", title="Hip Thrust", body="b", image="https://cdn.example/a.jpg")
    payload = sender.rules.build_payload(Prepared("*Hip Thrust*", []), post)
    publish(sender, payload)
    assert fake.messages[0]["blocks"][1] == {"type": "image", "image_url": "https://cdn.example/a.jpg",
                                             "alt_text": "Hip Thrust"}
    local = Post(source="p.md", slug="p", title="T", body="b", image="a.png")
    assert "cannot upload" in sender.rules.warnings(Prepared("t", []), local)[0]
    assert sender.rules.build_payload(Prepared("t", []), local) == {"text": "t"}


def test_unescaped_text_is_refused_as_slack_would(fake):
    with pytest.raises(Rejected) as caught:
        publish(publisher(fake.webhook_url), {"text": "Q&A <3"})
    assert caught.value.status == 400 and "invalid_payload" in str(caught.value)
    assert fake.mangled == ["Q&A <3"] and not fake.messages


@pytest.mark.parametrize("mode, status, code", [("archived", 410, "channel_is_archived"),
                                                 ("deleted", 404, "channel_not_found"),
                                                 ("prohibited", 403, "action_prohibited"),
                                                 ("revoked", 403, "invalid_token")])
def test_error_codes_are_rejected_with_a_fix(fake, mode, status, code):
    fake.channel_state = mode
    with pytest.raises(Rejected) as caught:
        publish(publisher(fake.webhook_url), {"text": "hi"})
    message = str(caught.value)
    assert caught.value.status == status and code in message
    assert "re-create the incoming webhook in Slack and update SLACK_WEBHOOK_URL" in message
    assert SECRET not in message and fake.url not in message


def test_wrong_secret_is_invalid_token_and_stays_hidden(fake):
    with pytest.raises(Rejected) as caught:
        publish(publisher(fake.webhook_url.replace(SECRET, "wrongSecret999")), {"text": "hi"})
    assert "invalid_token" in str(caught.value) and "wrongSecret999" not in str(caught.value)


def test_second_message_within_a_second_is_rate_limited(fake):
    fake.one_per_second = True
    sender = publisher(fake.webhook_url)
    publish(sender, {"text": "one"})
    with pytest.raises(RateLimited) as caught:
        publish(sender, {"text": "two"})
    assert caught.value.until == NOW + timedelta(seconds=1)
    assert fake.messages == [{"text": "one"}]


def test_check_validates_the_url_without_posting(fake):
    assert "not contacted" in check(publisher(fake.webhook_url))
    assert not fake.requests
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_URL is not a Slack incoming webhook URL"):
        check(publisher("https://hooks.slack.com/workflows/abc"))
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_URL"):       # a setting to fix: nothing was sent
        publish(publisher("https://hooks.slack.com/nope"), {"text": "x"})
    assert not fake.requests


# ---- the seed through the real pipeline: render, queue, run --------------------------------------------
def env(fake):
    return {"POSTBOT_CHANNELS": "slack", "SLACK_WEBHOOK_URL": fake.webhook_url}


def test_seed_preview_fits_and_is_escaped_for_mrkdwn():
    from postbot.render import Renderer
    channel = settings_for({"POSTBOT_CHANNELS": "slack"}).channel("slack")
    render = Renderer().render(seed_post(), channel)
    assert render.fits and mangled_at(render.text) is None
    assert all(f"<{link}|" in render.text.replace("&amp;", "&") for link in render.links)


def test_seed_is_published_once_by_the_runner(tmp_path, fake):
    settings = settings_for(env(fake))
    store, delivery, render = queue_seed(tmp_path, settings)
    assert run_once(store, settings, Clock()) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED
    assert done.remote_id == delivery.idempotency_key and done.remote_url is None
    assert fake.messages == [{"text": render.text}] and not fake.mangled


def test_rate_limit_holds_the_channel(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    fake.one_per_second, fake.last_post_at = True, fake.clock()      # someone else just posted
    run_once(store, settings, clock)
    held = store.get(delivery.id)
    assert held.state is State.SCHEDULED and held.next_attempt_at == NOW + timedelta(seconds=1)
    fake.last_post_at = fake.clock() - 1
    clock.advance(seconds=1)
    assert run_once(store, settings, clock) == 1 and len(fake.messages) == 1


def test_archived_channel_fails_at_once(tmp_path, fake):
    settings = settings_for(env(fake))
    store, delivery, _ = queue_seed(tmp_path, settings)
    fake.channel_state = "archived"
    run_once(store, settings, Clock())
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and "channel_is_archived" in failed.error and SECRET not in failed.error


def test_server_error_leaves_it_unknown_and_never_resends(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_through_an_outage(fake, 500, store, settings, clock, delivery.id)
    assert len(fake.requests) == 1 and not fake.messages


def test_crash_mid_publish_becomes_unknown_without_a_second_post(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_after_a_crash(store, settings, clock)
    assert_unknown(store, delivery.id)
    assert not fake.requests
