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
