"""The X adapter against a strict local X (tests/fakes/x.py) and through the real runner."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from postbot.errors import Ambiguous, ConfigError, RateLimited, Rejected, Retryable
from postbot.models import Channel, Post, State
from postbot.platforms.base import PublishContext
from postbot.platforms.x import UNSURE_KEY, XRules, XSender, oauth1_authorization
from tests.fakes.webpages import png
from tests.fakes import x as fake_x
from tests.fakes.x import FakeX, parse_oauth_header
from tests.helpers import (NOW, Clock, add_delivery, assert_unknown, check, crash_mid_publish, part, publish_context,
                           queue_post, run_once, seed_post, settings_for, sqlite_store, thread_progress, with_client)

UTC = timezone.utc
PNG = png(2, 2)   # real bytes: postbot sniffs what it uploads
EXAMPLE = dict(consumer_key="xvz1evFS4wEEPTGEFPHBog", consumer_secret="kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
               token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
               token_secret="LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
               nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", timestamp="1318622958")


@pytest.fixture
def fake():
    with FakeX() as server:
        yield server


def oauth1_env(url: str, **extra: str) -> dict[str, str]:
    env = {"X_API_URL": url, "X_API_KEY": fake_x.CONSUMER_KEY, "X_API_SECRET": fake_x.CONSUMER_SECRET,
           "X_ACCESS_TOKEN": fake_x.TOKEN, "X_ACCESS_TOKEN_SECRET": fake_x.TOKEN_SECRET}
    env.update(extra)
    return env


def oauth2_env(url: str, **extra: str) -> dict[str, str]:
    env = {"X_API_URL": url, "X_OAUTH2_ACCESS_TOKEN": "fake-oauth2-access-1",
           "X_OAUTH2_REFRESH_TOKEN": "fake-oauth2-refresh-1", "X_CLIENT_ID": fake_x.CLIENT_ID}
    env.update(extra)
    return env


def channel_for(env: dict[str, str]) -> Channel:
    return Channel("x", "x", "x", settings={k[2:]: v for k, v in env.items() if k.startswith("X_")})


def context(client, **options) -> PublishContext:
    return publish_context(client, **{"key": uuid.uuid4().hex, **options})


def publish(publisher, payload, ctx_kwargs=None, timeout=5.0):
    """The post and the context it was published with (what the adapter saved there)."""
    async def send(client):
        ctx = context(client, **(ctx_kwargs or {}))
        return await publisher.publish(payload, ctx), ctx
    return with_client(send, timeout)


def add_tweets(store, texts):
    return add_delivery(store, "x", [part(t, {"text": t}) for t in texts])


# ---- OAuth 1.0a -------------------------------------------------------------------------------
@pytest.mark.parametrize("host, expected", [("api.x.com", "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="),
                                            ("api.twitter.com", "hCtSmYh+iHYCEqBWrE7C7hYmtUk=")])
def test_signing_reproduces_the_documented_example(host, expected):
    header = oauth1_authorization("POST", f"https://{host}/1.1/statuses/update.json?include_entities=true",
                                  form={"status": "Hello Ladies + Gentlemen, a signed OAuth request!"}, **EXAMPLE)
    params = parse_oauth_header(header)
    assert params["oauth_signature"] == expected
    assert params["oauth_nonce"] == EXAMPLE["nonce"] and params["oauth_timestamp"] == EXAMPLE["timestamp"]
    assert "oauth_body_hash" not in params


def test_posts_are_signed_without_the_json_body_and_verified_by_the_server(fake):
    publisher = XSender(channel_for(oauth1_env(fake.url, X_USERNAME="postbot_test")))
    first, _ = publish(publisher, {"text": "first post"})
    second, _ = publish(publisher, {"text": "second post"})
    assert fake.texts() == ["first post", "second post"] and fake.signature_failures == 0
    assert first.remote_url == f"https://x.com/postbot_test/status/{first.remote_id}"
    headers = [parse_oauth_header(r.headers["authorization"]) for r in fake.requests]
    assert all("oauth_body_hash" not in h for h in headers)
    assert headers[0]["oauth_nonce"] != headers[1]["oauth_nonce"]
    assert json.loads(fake.requests[1].body) == {"text": "second post"}
    assert second.remote_id != first.remote_id


def test_the_fake_refuses_bad_signatures_and_replayed_nonces(fake):
    url = fake.url + "/2/tweets"
    good = oauth1_authorization("POST", url, consumer_key=fake_x.CONSUMER_KEY, consumer_secret=fake_x.CONSUMER_SECRET,
                                token=fake_x.TOKEN, token_secret=fake_x.TOKEN_SECRET)
    forged = oauth1_authorization("POST", url, consumer_key=fake_x.CONSUMER_KEY, consumer_secret="wrong",
                                  token=fake_x.TOKEN, token_secret=fake_x.TOKEN_SECRET)
    with httpx.Client() as client:
        assert client.post(url, json={"text": "a"}, headers={"Authorization": forged}).status_code == 401
        assert client.post(url, json={"text": "a"}, headers={"Authorization": good}).status_code == 201
        replay = client.post(url, json={"text": "b"}, headers={"Authorization": good})
        assert replay.status_code == 401
        assert replay.headers["content-type"] == "application/problem+json"
    assert fake.texts() == ["a"]


def test_wrong_oauth1_secret_is_rejected_naming_the_settings(fake):
    publisher = XSender(channel_for(oauth1_env(fake.url, X_API_SECRET="not-the-secret")))
    with pytest.raises(Rejected) as caught:
        publish(publisher, {"text": "hello"})
    message = str(caught.value)
    assert "401" in message and "X_API_KEY" in message and "X_ACCESS_TOKEN_SECRET" in message
    assert "not-the-secret" not in message and fake_x.CONSUMER_SECRET not in message
    assert fake.tweets == {}


def test_the_fake_enforces_the_schema_and_the_weighted_length(fake):
    publisher = XSender(channel_for(oauth1_env(fake.url)))
    with pytest.raises(Rejected) as unknown:
        publish(publisher, {"text": "hello", "title": "not a field"})
    assert unknown.value.status == 400
    with pytest.raises(Rejected) as too_long:
        publish(publisher, {"text": "界" * 141})             # CJK weighs 2: 282 > 280
    assert too_long.value.status == 400
    published, _ = publish(publisher, {"text": "界" * 140})
    assert fake.tweets[published.remote_id]["text"] == "界" * 140


# ---- duplicates and unknown outcomes -------------------------------------------------------------
def test_duplicate_text_is_rejected_as_probably_already_posted(fake):
    publisher = XSender(channel_for(oauth1_env(fake.url)))
    publish(publisher, {"text": "same words"})
    with pytest.raises(Rejected) as caught:
        publish(publisher, {"text": "same words"})
    assert caught.value.status == 403 and "probably already posted" in str(caught.value)
    assert len(fake.tweets) == 1


def test_duplicate_after_a_timed_out_attempt_is_ambiguous_not_a_rejection(fake):
    publisher = XSender(channel_for(oauth1_env(fake.url)))
    fake.delay_next_post = 1.0
    progress: dict = {}
    with pytest.raises(Retryable) as timed_out:
        publish(publisher, {"text": "slow post"}, {"progress": progress}, timeout=0.3)
    assert timed_out.value.sent is True
    assert progress[UNSURE_KEY] == [0]
    with pytest.raises(Ambiguous):
        publish(publisher, {"text": "slow post"}, {"progress": progress})
    assert fake.texts() == ["slow post"]


def test_timeout_through_the_runner_becomes_unknown_and_is_not_resent(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_tweets(store, ["a post that times out"])
    settings = settings_for({"POSTBOT_CHANNELS": "x", **oauth1_env(fake.url)})
    fake.delay_next_post = 1.0
    run_once(store, settings, clock, client_factory=lambda kind: httpx.AsyncClient(timeout=0.3))
    assert_unknown(store, delivery.id, "postbot retry")
    clock.advance(hours=1)
    run_once(store, settings, clock)
    assert len([r for r in fake.requests if r.path == "/2/tweets"]) == 1


# ---- rate limits ------------------------------------------------------------------------------------
def test_429_waits_until_x_rate_limit_reset(tmp_path, fake):
    reset = int((NOW + timedelta(minutes=7)).timestamp())
    fake.rate_limited_until = reset
    publisher = XSender(channel_for(oauth1_env(fake.url)))
    with pytest.raises(RateLimited) as caught:
        publish(publisher, {"text": "hello"})
    assert caught.value.until == datetime.fromtimestamp(reset, UTC)

    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_tweets(store, ["held back"])
    settings = settings_for({"POSTBOT_CHANNELS": "x", **oauth1_env(fake.url)})
    run_once(store, settings, clock)
    held = store.get(delivery.id)
    assert held.state is State.SCHEDULED and held.next_attempt_at == NOW + timedelta(minutes=7)
    assert store.holds(clock())["x"][0] == NOW + timedelta(minutes=7)
    fake.rate_limited_until = None
    clock.advance(minutes=6, seconds=59)
    assert run_once(store, settings, clock) == 0
    clock.advance(seconds=1)
    assert run_once(store, settings, clock) == 1
    assert fake.texts() == ["held back"]


# ---- threads --------------------------------------------------------------------------------------------
THREAD = [f"Part {i} of the thread. {i}/5" for i in range(1, 6)]


def test_five_part_thread_is_chained_in_order(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_tweets(store, THREAD)
    run_once(store, settings_for({"POSTBOT_CHANNELS": "x", **oauth1_env(fake.url)}), clock)
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED and done.remote_id == fake.order[0]
    assert fake.texts() == THREAD
    assert [fake.tweets[i]["reply"] for i in fake.order] == [None] + fake.order[:-1]
    bodies = [json.loads(r.body) for r in fake.requests if r.path == "/2/tweets"]
    assert "reply" not in bodies[0] and bodies[1]["reply"] == {"in_reply_to_tweet_id": fake.order[0]}


def crashed_after_two_parts(tmp_path, fake, sending_mark: bool):
    """What a daemon killed mid-thread leaves: two parts published and recorded, maybe a third marked."""
    store = sqlite_store(tmp_path)
    delivery = add_tweets(store, THREAD)
    publisher = XSender(channel_for(oauth1_env(fake.url)))
    first, _ = publish(publisher, {"text": THREAD[0]})
    second, _ = publish(publisher, {"text": THREAD[1]}, {"part_index": 1, "parent": first, "root": first})
    progress = thread_progress(first, second)
    if sending_mark:
        progress["sending"] = 2
    crash_mid_publish(store, progress)
    return store, delivery


def test_thread_resumes_after_the_last_published_part_after_a_crash(tmp_path, fake):
    store, delivery = crashed_after_two_parts(tmp_path, fake, sending_mark=False)
    clock = Clock(NOW + timedelta(seconds=61))
    assert run_once(store, settings_for({"POSTBOT_CHANNELS": "x", **oauth1_env(fake.url)}), clock) == 1
    assert fake.texts() == THREAD
    assert [fake.tweets[i]["reply"] for i in fake.order] == [None] + fake.order[:-1]
    assert store.get(delivery.id).remote_id == fake.order[0]


def test_a_part_marked_sending_at_the_crash_becomes_unknown_and_is_never_reposted(tmp_path, fake):
    store, delivery = crashed_after_two_parts(tmp_path, fake, sending_mark=True)
    posts_before = len([r for r in fake.requests if r.path == "/2/tweets"])
    clock = Clock(NOW + timedelta(seconds=61))
    run_once(store, settings_for({"POSTBOT_CHANNELS": "x", **oauth1_env(fake.url)}), clock)
    assert_unknown(store, delivery.id, "cannot look up")
    assert len([r for r in fake.requests if r.path == "/2/tweets"]) == posts_before
    assert fake.texts() == THREAD[:2]


# ---- media ---------------------------------------------------------------------------------------------------
def test_image_is_uploaded_with_alt_text_and_attached_to_the_first_part_only(tmp_path, fake):
    image = tmp_path / "photo.png"
    image.write_bytes(PNG)
    publisher = XSender(channel_for(oauth1_env(fake.url)))
    payload = {"text": "with a picture", "_media": {"path_or_url": str(image), "alt": "A squat rack"}}
    head, _ = publish(publisher, payload)
    tweet = fake.tweets[head.remote_id]
    (media_id,) = tweet["media"]
    assert fake.media[media_id] == {"bytes": PNG, "category": "tweet_image", "alt": "A squat rack"}
    body = json.loads([r for r in fake.requests if r.path == "/2/tweets"][0].body)
    assert body == {"text": "with a picture", "media": {"media_ids": [media_id]}}
    publish(publisher, {**payload, "text": "second part"}, {"part_index": 1, "parent": head, "root": head})
    assert len(fake.media) == 1 and fake.tweets[fake.order[1]]["media"] == []


def test_images_x_cannot_take_are_refused_at_queue_time(tmp_path):
    publisher = XRules(channel_for(oauth1_env("http://unused")))
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\0" * (5 * 1024 * 1024))
    source = str(tmp_path / "post.md")
    assert "5 MB" in publisher.refuse(Post(source=source, slug="p", title="T", body="b", image="big.png"))
    assert "1000" in publisher.refuse(Post(source=source, slug="p", title="T", body="b", image="big.png",
                                           image_alt="a" * 1001))
    (tmp_path / "small.png").write_bytes(PNG)
    assert publisher.refuse(Post(source=source, slug="p", title="T", body="b", image="small.png")) is None
    payload = publisher.build_payload(publisher.prepare("hi"), Post(source=source, slug="p", title="T", body="b",
                                                                    image="small.png", image_alt="alt"))
    assert payload["_media"] == {"path_or_url": str(tmp_path / "small.png"), "alt": "alt"}


# ---- OAuth 2.0 --------------------------------------------------------------------------------------------
def test_expired_oauth2_token_is_refreshed_and_the_rotated_pair_kept(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for({"POSTBOT_CHANNELS": "x", **oauth2_env(fake.url)})
    first = add_tweets(store, ["before expiry"])
    run_once(store, settings, clock)
    assert store.get(first.id).state is State.PUBLISHED and fake.refreshes == 0
    fake.expire_access_tokens()
    second = add_tweets(store, ["after expiry"])
    run_once(store, settings, clock)
    assert store.get(second.id).state is State.PUBLISHED and fake.refreshes == 1
    kept = store.state_get("x", "oauth2_tokens")
    assert kept["refresh_token"] == fake.refresh_token == "fake-oauth2-refresh-2"
    assert kept["access_token"] in fake.access_tokens
    fake.expire_access_tokens()                 # the next refresh must use the rotated token
    third = add_tweets(store, ["after the second expiry"])
    run_once(store, settings, clock)
    assert store.get(third.id).state is State.PUBLISHED and fake.refreshes == 2
    assert fake.texts() == ["before expiry", "after expiry", "after the second expiry"]
    refresh_forms = [r.form() for r in fake.requests if r.path == "/2/oauth2/token"]
    assert [f["refresh_token"] for f in refresh_forms] == [["fake-oauth2-refresh-1"], ["fake-oauth2-refresh-2"]]


def test_a_dead_refresh_token_fails_naming_the_settings(fake):
    fake.expire_access_tokens()
    fake.refresh_token = "someone-else-used-it"
    publisher = XSender(channel_for(oauth2_env(fake.url)))

    async def refresh(client):
        with pytest.raises(Rejected) as caught:
            await publisher.refresh(context(client))
        return str(caught.value)
    message = with_client(refresh)
    assert "X_OAUTH2_REFRESH_TOKEN" in message and "fake-oauth2-refresh-1" not in message


# ---- settings and check --------------------------------------------------------------------------------------
def test_either_credential_set_is_enough():
    assert XSender(channel_for(oauth1_env("http://x"))).missing_settings() == []
    assert XSender(channel_for(oauth2_env("http://x"))).missing_settings() == []
    partial = XSender(channel_for({"X_OAUTH2_ACCESS_TOKEN": "t"})).missing_settings()
    assert partial == ["X_OAUTH2_REFRESH_TOKEN", "X_CLIENT_ID"]
    nothing = " ".join(XSender(channel_for({})).missing_settings())
    assert "X_API_KEY" in nothing and "X_OAUTH2_ACCESS_TOKEN" in nothing


def test_check_names_the_account_or_the_wrong_setting(fake):
    assert check(XSender(channel_for(oauth1_env(fake.url)))) == "@postbot_test (oauth1)"
    assert check(XSender(channel_for(oauth2_env(fake.url)))) == "@postbot_test (oauth2)"
    with pytest.raises(ConfigError) as caught:
        check(XSender(channel_for(oauth1_env(fake.url, X_ACCESS_TOKEN_SECRET="stale"))))
    assert "X_ACCESS_TOKEN_SECRET" in str(caught.value) and "stale" not in str(caught.value)


# ---- rendering and the real input -----------------------------------------------------------------------------
def test_preview_warns_about_url_pricing():
    from postbot.render import Renderer
    channel = Channel("x", "x", "x")
    post = Post(source="p.md", slug="p", title="Title", body="A short body.", url="https://example.com/post")
    render = Renderer().render(post, channel, XRules(channel))
    assert any("$0.20" in w for w in render.warnings)
    plain = Renderer().render(Post(source="p.md", slug="p", title="T", body="No links here."), channel,
                              XRules(channel))
    assert not any("$0.20" in w for w in plain.warnings)


def test_seed_post_is_published_end_to_end(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for({"POSTBOT_CHANNELS": "x", **oauth1_env(fake.url, X_USERNAME="postbot_test")})
    delivery, render = queue_post(seed_post(), store, settings)
    assert run_once(store, settings, clock) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED
    assert done.remote_url == f"https://x.com/postbot_test/status/{fake.order[0]}"
    posts = [r for r in fake.requests if r.path == "/2/tweets"]
    assert len(posts) == len(render.parts)
    assert json.loads(posts[0].body)["text"] == render.parts[0].text
    assert fake.texts()[0] == render.text


def test_seed_post_as_a_thread_is_published_in_order(tmp_path, fake):
    import dataclasses

    post = dataclasses.replace(seed_post(), thread=True)
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for({"POSTBOT_CHANNELS": "x", **oauth1_env(fake.url)})
    delivery, render = queue_post(post, store, settings)
    parts = [piece.text for piece in render.parts]
    assert len(parts) >= 2
    assert run_once(store, settings, clock) == 1
    assert fake.texts() == parts                              # the fake measured each part itself
    assert [fake.tweets[i]["reply"] for i in fake.order] == [None] + fake.order[:-1]
    assert store.get(delivery.id).remote_id == fake.order[0]


def test_credentials_removed_after_queueing_fail_naming_them_without_a_request(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_tweets(store, ["queued while the keys were set"])
    run_once(store, settings_for({"POSTBOT_CHANNELS": "x", "X_API_URL": fake.url}), clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED, (failed.state, failed.error)
    assert "X_API_KEY" in failed.error and "internal error" not in failed.error
    assert fake.requests == []


def test_an_unsent_step_keeps_the_retry_time_and_status_of_its_error():
    """Uploads and token refreshes come before the post: their errors are marked unsent, not rebuilt."""
    from postbot.errors import unsent
    after = NOW + timedelta(minutes=3)
    error = unsent(Retryable("x media upload answered 503", after=after, status=503))
    assert (type(error), error.after, error.status, error.sent) == (Retryable, after, 503, False)
    limited = unsent(RateLimited("x answered 429", until=after, sent=True))
    assert (limited.until, limited.status, limited.sent) == (after, 429, False)
