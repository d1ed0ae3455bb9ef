"""Long-lived Threads/Instagram tokens: renewed before they expire (injected `now`), the new one kept in
the store and used; an expired one fails the delivery and `status` says how to reconnect."""
from __future__ import annotations

from datetime import timedelta

import pytest

from postbot.app import check_channels
from postbot.models import State
from postbot.platforms.lifetime import STATE_KEY, KeptToken, parse_expiry
from tests.fakes.meta import InstagramFake, ThreadsFake
from tests.helpers import NOW, Clock, add_delivery, part, run_once, settings_for, sqlite_store

TOKEN = "THQWJ-threads-token-1"
USER = "25000000000001"


@pytest.fixture
def fake():
    with ThreadsFake(user_id=USER) as server:
        server.grant(TOKEN, owner=USER)
        yield server


def env_for(fake, expires_at) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "threads", "THREADS_API_URL": fake.api_url, "THREADS_USER_ID": USER,
            "THREADS_ACCESS_TOKEN": TOKEN, "THREADS_TOKEN_EXPIRES_AT": expires_at.isoformat()}


def add(store, text="Renewed before posting", due=NOW):
    return add_delivery(store, "threads", [part(text, {"media_type": "TEXT", "text": text})], slug="p", due=due)


def used_tokens(fake, suffix: str) -> list[str]:
    return [r.form().get("access_token", [""])[0] for r in fake.requests if r.path.endswith(suffix)]


def test_a_token_expiring_in_3_days_is_renewed_before_the_post_and_kept(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    settings = settings_for(env_for(fake, NOW + timedelta(days=3)))
    assert run_once(store, settings, clock) == 1
    (renewed,) = fake.renewed
    paths = [r.path for r in fake.requests]
    assert paths.index("/refresh_access_token") < paths.index(f"/v1.0/{USER}/threads")
    refresh = fake.requests[paths.index("/refresh_access_token")]
    assert refresh.query == {"grant_type": ["th_refresh_token"]}        # the token travels in a header, not the URL
    assert used_tokens(fake, "/threads") == [renewed] and used_tokens(fake, "/threads_publish") == [renewed]
    assert store.get(delivery.id).state is State.PUBLISHED
    kept = store.state_get("threads", STATE_KEY)
    assert kept["access_token"] == renewed and kept["granted_from"] == TOKEN
    assert parse_expiry(kept["expires_at"]) == NOW + timedelta(days=60)
    # The next post a day later uses the kept token without renewing again (60 days left).
    add(store, "A day later", due=clock.advance(days=1))
    assert run_once(store, settings, clock) == 1
    assert fake.renewed == [renewed] and used_tokens(fake, "/threads")[-1] == renewed


def test_a_token_with_weeks_left_is_not_renewed(tmp_path, fake):
    store = sqlite_store(tmp_path)
    add(store)
    assert run_once(store, settings_for(env_for(fake, NOW + timedelta(days=30))), Clock()) == 1
    assert fake.renewed == [] and used_tokens(fake, "/threads") == [TOKEN]


def test_an_expired_token_fails_the_delivery_saying_how_to_reconnect(tmp_path, fake):
    store = sqlite_store(tmp_path)
    delivery = add(store)
    assert run_once(store, settings_for(env_for(fake, NOW - timedelta(days=1))), Clock()) == 0
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED
    assert "expired on 2026-11-30" in failed.error and "THREADS_ACCESS_TOKEN" in failed.error
    assert "THREADS_TOKEN_EXPIRES_AT" in failed.error
    assert fake.requests == []                                            # nothing was tried with it


def test_a_new_token_in_the_settings_wins_over_the_kept_one(tmp_path, fake):
    store = sqlite_store(tmp_path)
    store.state_set("threads", STATE_KEY, {"access_token": "old-renewed", "granted_from": "an-older-token",
                                           "expires_at": (NOW + timedelta(days=50)).isoformat()})
    settings = settings_for(env_for(fake, NOW + timedelta(days=40)))
    from postbot.platforms.base import ChannelState
    life = KeptToken(settings.channel("threads"), ChannelState.of(store, "threads"))
    assert life.current() == TOKEN and life.expires_at() == NOW + timedelta(days=40)


def test_status_shows_the_expiry_and_an_expired_token_as_not_ready(tmp_path, fake):
    import asyncio
    from datetime import datetime, timezone
    store = sqlite_store(tmp_path)
    today = datetime.now(timezone.utc)
    (entry,) = asyncio.run(check_channels(settings_for(env_for(fake, today + timedelta(days=30))), store))
    assert entry.ready and f"token expires {(today + timedelta(days=30)).date()}" in entry.detail
    (entry,) = asyncio.run(check_channels(settings_for(env_for(fake, today - timedelta(days=2))), store))
    assert not entry.ready and "expired on" in entry.detail and "create a new long-lived Threads token" in entry.detail


def test_instagram_renews_with_ig_refresh_token(tmp_path):
    with InstagramFake() as fake:
        fake.grant("IGtoken-1", owner=fake.user_id)
        store = sqlite_store(tmp_path)
        settings = settings_for({"POSTBOT_CHANNELS": "instagram", "INSTAGRAM_API_URL": fake.api_url,
                                 "INSTAGRAM_USER_ID": fake.user_id, "INSTAGRAM_ACCESS_TOKEN": "IGtoken-1",
                                 "INSTAGRAM_TOKEN_EXPIRES_AT": (NOW + timedelta(days=2)).isoformat()})
        from postbot.platforms import make_sender
        from tests.helpers import with_client
        sender = make_sender(settings.channel("instagram"), store=store)
        with_client(lambda client: sender.renew(client, NOW))
        (renewed,) = fake.renewed
        refresh = [r for r in fake.requests if r.path == "/refresh_access_token"]
        assert refresh[0].query == {"grant_type": ["ig_refresh_token"]} and sender.token() == renewed


# ---- LinkedIn: refresh token ------------------------------------------------------------------------
LI_TOKEN, LI_REFRESH = "AQX-linkedin-token-1", "AQRrefresh-token-1"


@pytest.fixture
def linkedin():
    from tests.fakes.linkedin import LinkedInFake
    with LinkedInFake(today=NOW.date()) as server:
        server.member(LI_TOKEN, sub="abc123XYZ")
        server.refresh_tokens[LI_REFRESH] = LI_TOKEN
        server.oauth.register("client-1", "client-secret-1")
        yield server


def linkedin_env(fake, expires_at, **extra) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "linkedin", "LINKEDIN_API_URL": fake.url, "LINKEDIN_OAUTH_URL": fake.url + "/oauth/v2",
            "LINKEDIN_ACCESS_TOKEN": LI_TOKEN, "LINKEDIN_AUTHOR": "urn:li:person:abc123XYZ",
            "LINKEDIN_VERSION": "202611", "LINKEDIN_TOKEN_EXPIRES_AT": expires_at.isoformat(),
            "LINKEDIN_REFRESH_TOKEN": LI_REFRESH, "LINKEDIN_CLIENT_ID": "client-1",
            "LINKEDIN_CLIENT_SECRET": "client-secret-1", **extra}


def add_linkedin(store, due=NOW):
    text = "Renewed LinkedIn post"
    return add_delivery(store, "linkedin", [part(text, {"commentary": text, "visibility": "PUBLIC",
                                                        "distribution": {"feedDistribution": "MAIN_FEED"},
                                                        "lifecycleState": "PUBLISHED"})], slug="p", due=due)


def test_linkedin_refresh_token_renews_before_expiry_and_the_post_uses_the_new_token(tmp_path, linkedin, caplog):
    store = sqlite_store(tmp_path)
    delivery = add_linkedin(store)
    assert run_once(store, settings_for(linkedin_env(linkedin, NOW + timedelta(days=2))), Clock()) == 1
    (renewed,) = linkedin.renewed
    (exchange,) = [r for r in linkedin.requests if r.path == "/oauth/v2/accessToken"]
    assert exchange.form()["grant_type"] == ["refresh_token"] and exchange.form()["refresh_token"] == [LI_REFRESH]
    (post,) = [r for r in linkedin.requests if r.path == "/rest/posts"]
    assert post.headers["authorization"] == f"Bearer {renewed}"
    assert store.get(delivery.id).state is State.PUBLISHED
    assert parse_expiry(store.state_get("linkedin", STATE_KEY)["expires_at"]) == NOW + timedelta(days=60)
    assert renewed not in caplog.text and LI_REFRESH not in caplog.text


def test_linkedin_expired_without_a_refresh_token_fails_naming_how_to_reconnect(tmp_path, linkedin):
    store = sqlite_store(tmp_path)
    delivery = add_linkedin(store)
    env = linkedin_env(linkedin, NOW - timedelta(days=1), LINKEDIN_REFRESH_TOKEN="")
    assert run_once(store, settings_for(env), Clock()) == 0
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and "expired on 2026-11-30" in failed.error
    assert "LINKEDIN_ACCESS_TOKEN" in failed.error and linkedin.requests == []


def test_linkedin_revoked_refresh_token_fails_the_renewal_without_the_secret(tmp_path, linkedin):
    store = sqlite_store(tmp_path)
    delivery = add_linkedin(store)
    linkedin.refresh_tokens.clear()
    assert run_once(store, settings_for(linkedin_env(linkedin, NOW - timedelta(hours=1))), Clock()) == 0
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and "refused to renew" in failed.error and "invalid" in failed.error
    assert LI_REFRESH not in failed.error and "client-secret-1" not in failed.error
