"""The Facebook Pages adapter against a strict local Graph API (tests/fakes/meta.py) and through the runner."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from postbot.errors import ConfigError, RateLimited, Rejected, Retryable
from postbot.models import Channel, Post, State
from postbot.platforms.base import Prepared
from postbot.platforms.facebook import FacebookSender
from postbot.platforms.media import public_image_url
from tests.fakes.meta import FacebookFake, graph_error
from tests.helpers import (NOW, Clock, add_delivery, assert_unknown, check, crash_mid_publish, part, publish,
                           queue_post, run_once, seed_post, settings_for, sqlite_store)

PAGE_TOKEN = "EAAB-page-token-1"
POST = Post(source="post.md", slug="hip-thrust", title="The Hip Thrust", body="A body.",
            url="https://example.com/hip-thrust")


@pytest.fixture
def fake():
    with FacebookFake(page_id="1122334455") as server:
        server.grant(PAGE_TOKEN, owner="1122334455")
        yield server


def channel(fake: FacebookFake, **settings: str) -> Channel:
    values = {"API_URL": fake.url, "PAGE_ID": "1122334455", "PAGE_TOKEN": PAGE_TOKEN}
    values.update(settings)
    return Channel("facebook", "facebook", "facebook", settings=values)


def link_payload(publisher, text="Hello Facebook https://example.com/hip-thrust", post=POST):
    return publisher.rules.build_payload(Prepared(text, []), post)


# ---- the request ---------------------------------------------------------------------------------
def test_feed_post_is_form_encoded_with_the_token_in_the_body(fake):
    publisher = FacebookSender(channel(fake))
    published = publish(publisher, link_payload(publisher))
    [request] = [r for r in fake.requests if r.path.endswith("/feed")]
    assert request.path == "/v25.0/1122334455/feed"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"message": ["Hello Facebook https://example.com/hip-thrust"],
                              "link": ["https://example.com/hip-thrust"], "access_token": [PAGE_TOKEN]}
    assert "access_token" not in request.query and fake.token_places == ["body"]
    assert published.remote_id in fake.posts
    assert published.remote_url == f"https://www.facebook.com/{published.remote_id}"


def test_graph_version_is_a_setting(fake):
    publisher = FacebookSender(channel(fake, GRAPH_VERSION="v26.0"))
    publish(publisher, link_payload(publisher))
    assert fake.requests[-1].path == "/v26.0/1122334455/feed"


def test_image_post_goes_to_photos_with_caption_and_alt_text(fake):
    post = Post(source="post.md", slug="s", title="T", body="b", url="https://example.com/a",
                image="images/hip thrust.jpg", image_alt="A man doing a hip thrust")
    publisher = FacebookSender(channel(fake, IMAGE_BASE_URL="https://cdn.example.com/img/"))
    payload = link_payload(publisher, "Caption https://example.com/a", post)
    published = publish(publisher, payload)
    [request] = [r for r in fake.requests if r.path.endswith("/photos")]
    assert request.form() == {"message": ["Caption https://example.com/a"],
                              "url": ["https://cdn.example.com/img/hip%20thrust.jpg"],
                              "alt_text_custom": ["A man doing a hip thrust"], "access_token": [PAGE_TOKEN]}
    assert fake.posts[published.remote_id]["kind"] == "photo" and published.extra["photo_id"]


def test_local_image_without_a_base_url_is_refused_at_queue_time(fake):
    publisher = FacebookSender(channel(fake))
    post = Post(source="post.md", slug="s", title="T", body="b", image="hero.jpg")
    assert "FACEBOOK_IMAGE_BASE_URL" in publisher.refuse(post)
    assert publisher.refuse(Post(source="p", slug="s", title="T", body="b",
                                 image="https://cdn.example.com/hero.jpg")) is None
    assert public_image_url("https://x.example/a.png", None) == "https://x.example/a.png"


# ---- Graph errors ------------------------------------------------------------------------------
def test_invalid_token_is_rejected_naming_the_setting(fake):
    publisher = FacebookSender(channel(fake, PAGE_TOKEN="EAAB-stale-token"))
    with pytest.raises(Rejected) as caught:
        publish(publisher, link_payload(publisher))
    assert "error 190" in str(caught.value) and "FACEBOOK_PAGE_TOKEN" in str(caught.value)
    assert "EAAB-stale-token" not in str(caught.value)


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_throttling_codes_wait_for_the_business_use_case_estimate(fake, code):
    usage = {"1122334455": [{"type": "pages", "call_count": 100, "total_cputime": 12, "total_time": 30,
                             "estimated_time_to_regain_access": 17}]}
    fake.script["feed"] = [graph_error(code, "(#32) Page request limit reached", status=403,
                                       headers={"X-Business-Use-Case-Usage": json.dumps(usage)})]
    publisher = FacebookSender(channel(fake))
    with pytest.raises(RateLimited) as caught:
        publish(publisher, link_payload(publisher))
    assert caught.value.until == NOW + timedelta(minutes=17)


def test_throttling_without_an_estimate_waits_an_hour(fake):
    fake.script["feed"] = [graph_error(4, "(#4) Application request limit reached")]
    publisher = FacebookSender(channel(fake))
    with pytest.raises(RateLimited) as caught:
        publish(publisher, link_payload(publisher))
    assert caught.value.until == NOW + timedelta(hours=1)


@pytest.mark.parametrize("code", [1, 2])
def test_transient_codes_are_retryable(fake, code):
    fake.script["feed"] = [graph_error(code, "An unexpected error has occurred. Please retry your request later.",
                                       status=500, is_transient=True)]
    publisher = FacebookSender(channel(fake))
    with pytest.raises(Retryable) as caught:
        publish(publisher, link_payload(publisher))
    assert caught.value.sent is True        # Facebook may have posted it: never re-sent blindly


def test_other_errors_keep_the_user_message(fake):
    fake.script["feed"] = [graph_error(368, "(#368) The action attempted has been deemed abusive",
                                       user_msg="This post goes against our Community Standards")]
    publisher = FacebookSender(channel(fake))
    with pytest.raises(Rejected, match="Community Standards"):
        publish(publisher, link_payload(publisher))


def test_unknown_parameter_is_rejected_by_the_fake(fake):
    publisher = FacebookSender(channel(fake))
    with pytest.raises(Rejected, match="Param colour is not valid"):
        publish(publisher, dict(link_payload(publisher), colour="red"))


# ---- check() ------------------------------------------------------------------------------------
def test_check_reads_the_page_with_the_token_in_a_header(fake):
    assert check(FacebookSender(channel(fake))) == "page Lewis Robinson Fitness (1122334455)"
    request = fake.requests[-1]
    assert request.query["fields"] == ["id,name"] and "access_token" not in request.query


def test_check_names_the_variable_that_is_wrong(fake):
    with pytest.raises(ConfigError, match="FACEBOOK_PAGE_TOKEN"):
        check(FacebookSender(channel(fake, PAGE_TOKEN="nope-nope")))
    with pytest.raises(ConfigError, match="FACEBOOK_PAGE_ID"):
        check(FacebookSender(channel(fake, PAGE_ID="999")))


# ---- through the runner ----------------------------------------------------------------------------
def env_for(fake: FacebookFake) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "facebook", "FACEBOOK_API_URL": fake.url, "FACEBOOK_PAGE_ID": "1122334455",
            "FACEBOOK_PAGE_TOKEN": PAGE_TOKEN, "POSTBOT_MAX_ATTEMPTS": "3"}


def add(store, text="Through the runner https://example.com/hip-thrust"):
    payload = FacebookSender(Channel("facebook", "facebook", "facebook")).rules.build_payload(Prepared(text, []), POST)
    return add_delivery(store, "facebook", [part(text, payload)], slug="hip-thrust", source="post.md", url=POST.url)


def test_runner_publishes_once(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    assert run_once(store, settings_for(env_for(fake)), clock) == 1
    done = store.get(delivery.id)
    [post_id] = fake.posts
    assert done.state is State.PUBLISHED and done.remote_id == post_id
    assert done.remote_url == f"https://www.facebook.com/{post_id}"


def test_runner_rate_limit_holds_the_channel_then_publishes(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    fake.script["feed"] = [graph_error(32, "(#32) Page request limit reached")]
    run_once(store, settings_for(env_for(fake)), clock)
    waiting = store.get(delivery.id)
    assert waiting.state is State.SCHEDULED and waiting.next_attempt_at == NOW + timedelta(hours=1)
    clock.advance(hours=1)
    assert run_once(store, settings_for(env_for(fake)), clock) == 1 and len(fake.posts) == 1


def test_runner_transient_error_becomes_unknown_not_a_second_post(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    fake.script["feed"] = [graph_error(2, "Service temporarily unavailable", status=500)]
    run_once(store, settings_for(env_for(fake)), clock)
    assert_unknown(store, delivery.id, "postbot retry")


def test_runner_fails_at_once_on_a_bad_token(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    run_once(store, settings_for(dict(env_for(fake), FACEBOOK_PAGE_TOKEN="EAAB-old")), clock)
    done = store.get(delivery.id)
    assert done.state is State.FAILED and "FACEBOOK_PAGE_TOKEN" in done.error and "EAAB-old" not in done.error


def test_crash_mid_publish_becomes_unknown_and_is_never_sent_twice(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    crash_mid_publish(store)
    clock.advance(minutes=5)
    run_once(store, settings_for(env_for(fake)), clock)
    assert_unknown(store, delivery.id)
    assert not fake.posts and not [r for r in fake.requests if r.method == "POST"]


# ---- rendered, queued and published: the whole pipeline ------------------------------------------
def test_queued_render_reaches_facebook(tmp_path, fake):
    from postbot.models import CTA
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for(env_for(fake))
    post = Post(source="post.md", slug="hip-thrust", title="The Hip Thrust", body="Love it or hate it (Marmite).",
                url="https://example.com/hip-thrust", ctas=[CTA("Personal Training", "https://example.com/pt")])
    delivery, _ = queue_post(post, store, settings)
    assert run_once(store, settings, clock) == 1
    [stored] = fake.posts.values()
    assert stored["message"] == delivery.parts[0].text and "Love it or hate it (Marmite)." in stored["message"]
    assert stored["link"] == "https://example.com/hip-thrust"
    assert "https://example.com/pt?utm_source=facebook" in stored["message"]


def test_the_seed_article_fits_and_reaches_facebook(tmp_path, fake):
    from postbot.render import Renderer
    settings = settings_for(env_for(fake))
    assert Renderer().render(seed_post(), settings.channel("facebook")).fits
    post = seed_post(repair=True)
    store, clock = sqlite_store(tmp_path), Clock()
    delivery, _ = queue_post(post, store, settings)
    assert run_once(store, settings, clock) == 1
    [stored] = fake.posts.values()
    assert stored["message"] == delivery.parts[0].text
    for cta in post.ctas:
        assert cta.label in stored["message"]
    # The seed has no URL of its own: the card is built from its first CTA, as the message links it.
    assert post.url is None
    assert stored["link"].startswith(post.ctas[0].url) and "utm_source=facebook" in stored["link"]
    assert stored["link"] in stored["message"]


def test_post_without_url_links_its_first_cta(fake):
    from postbot.models import CTA
    from postbot.render import Renderer
    post = Post(source="post.md", slug="s", title="T", body="Short body.",
                ctas=[CTA("Book", "https://example.com/book"), CTA("Shop", "https://example.com/shop")])
    render = Renderer().render(post, channel(fake))
    assert render.payload["link"] == "https://example.com/book?utm_source=facebook&utm_medium=social&utm_campaign=s"
    publish(FacebookSender(channel(fake)), render.payload)
    [stored] = fake.posts.values()
    assert stored["link"] == render.payload["link"]


def test_fake_refuses_a_linked_message_without_link(fake):
    publisher = FacebookSender(channel(fake))
    with pytest.raises(Rejected, match="no `link` parameter"):
        publish(publisher, {"message": "Read https://example.com/hip-thrust"})
    assert not fake.posts
