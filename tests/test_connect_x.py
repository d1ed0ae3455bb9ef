"""`postbot connect x` end to end against the strict X fake: the OAuth 1.0a PIN flow and the OAuth 2.0
authorization code with PKCE (browser back to 127.0.0.1, or the address pasted); then what was written
publishes, and a 2-hour OAuth 2.0 token is renewed before a post and by `status`."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postbot.app import check_channels
from postbot.models import State
from postbot.platforms.lifetime import parse_expiry
from tests.connecting import (KEPT, Session, assert_never_printed, assert_written, env_file, free_redirect,
                              landed_code)
from tests.fakes import x as fake_x
from tests.fakes.x import FakeX
from tests.helpers import NOW, Clock, add_delivery, part, run_once, settings_for, sqlite_store


@pytest.fixture
def fake():
    with FakeX() as server:
        yield server


def pin_from(page: httpx.Response) -> str:
    return re.search(r"<code>(\d+)</code>", page.text).group(1)


# ---- OAuth 1.0a with a PIN ---------------------------------------------------------------------------
def test_oauth1_pin_flow_writes_the_four_keys_and_they_publish(tmp_path, fake):
    path = env_file(tmp_path)
    session = Session(tmp_path, ["x", "--name", "news"], {"NEWS_API_URL": fake.url})
    session.type("1", fake_x.CONSUMER_KEY, fake_x.CONSUMER_SECRET)
    page = session.open_link("/oauth/authorize?oauth_token=")      # the user clicks 'Authorize app'
    pin = pin_from(page)
    result = session.finish(pin)
    assert result.returncode == 0, result.stderr
    assert "'Authorize app'" in result.stdout and "@postbot_test (oauth1)" in result.stdout
    ((access, secret),) = [(t, s) for t, s in fake.token_secrets.items() if t != fake_x.TOKEN]
    values = assert_written(path, {"NEWS_API_KEY": fake_x.CONSUMER_KEY, "NEWS_API_SECRET": fake_x.CONSUMER_SECRET,
                                   "NEWS_ACCESS_TOKEN": access, "NEWS_ACCESS_TOKEN_SECRET": secret,
                                   "NEWS_USERNAME": "postbot_test", "POSTBOT_CHANNELS": "news=x"})
    assert_never_printed(result, fake_x.CONSUMER_SECRET, access, secret, pin)
    assert fake.request_tokens == {} and fake.signature_failures == 0      # the request token was used up
    # What was written publishes: signed with the new token.
    store = sqlite_store(tmp_path)
    delivery = add_delivery(store, "news", [part("Connected with a PIN", {"text": "Connected with a PIN"})], slug="p")
    assert run_once(store, settings_for({**values, "NEWS_API_URL": fake.url}), Clock()) == 1
    assert store.get(delivery.id).state is State.PUBLISHED and fake.texts() == ["Connected with a PIN"]


def test_oauth1_a_wrong_secret_is_asked_again_and_a_wrong_pin_writes_nothing(tmp_path, fake):
    env_file(tmp_path)
    session = Session(tmp_path, ["x"], {"X_API_URL": fake.url})
    session.type("1", fake_x.CONSUMER_KEY, "not-the-secret", fake_x.CONSUMER_KEY, fake_x.CONSUMER_SECRET)
    pin = pin_from(session.open_link("/oauth/authorize?oauth_token="))
    wrong = str((int(pin) + 1) % 10_000_000).zfill(7)
    result = session.finish(wrong)
    assert result.returncode == 2
    assert "Could not authenticate you" in result.stdout and "Consumer Keys" in result.stdout
    assert "Invalid oauth_verifier" in result.stderr and "a PIN works once" in result.stderr
    assert (tmp_path / ".env").read_text() == KEPT
    assert_never_printed(result, fake_x.CONSUMER_SECRET, "not-the-secret", wrong)


# ---- OAuth 2.0 with PKCE ----------------------------------------------------------------------------------
def oauth2_session(tmp_path, fake, client_id: str, secret: str, redirect: str, env: dict[str, str] | None = None):
    session = Session(tmp_path, ["x"], {"X_API_URL": fake.url, "X_AUTHORIZE_URL": fake.url + "/i/oauth2/authorize",
                                        **(env or {})})
    return session.type("2", client_id, secret, redirect)


def test_oauth2_web_app_comes_back_to_the_local_redirect(tmp_path, fake):
    path = env_file(tmp_path, KEPT + "X_API_KEY=old-key\n")
    redirect = free_redirect()
    fake.oauth2.apps[fake_x.WEB_CLIENT_ID].redirect_uris.append(redirect)
    session = oauth2_session(tmp_path, fake, fake_x.WEB_CLIENT_ID, fake_x.CLIENT_SECRET, redirect)
    link = session.until("/i/oauth2/authorize?")
    query = parse_qs(urlsplit(link).query)
    assert query["scope"] == ["tweet.read tweet.write users.read media.write offline.access"]
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [redirect]
    page = httpx.get(link, follow_redirects=True, timeout=10)
    assert "go back to the terminal" in page.text
    result = session.finish()
    assert result.returncode == 0, result.stderr
    (access,) = [t for t in fake.access_tokens if t.startswith("fake-oauth2-access-code-")]
    values = assert_written(path, {"X_OAUTH2_ACCESS_TOKEN": access, "X_OAUTH2_REFRESH_TOKEN": fake.refresh_token,
                                   "X_CLIENT_ID": fake_x.WEB_CLIENT_ID, "X_CLIENT_SECRET": fake_x.CLIENT_SECRET,
                                   "X_USERNAME": "postbot_test", "X_API_KEY": "", "POSTBOT_CHANNELS": "x"})
    expires = parse_expiry(values["X_OAUTH2_EXPIRES_AT"])
    assert timedelta(minutes=119) < expires - datetime.now(timezone.utc) <= timedelta(hours=2)
    assert "emptied X_API_KEY" in result.stdout and "(oauth2)" in result.stdout
    (exchange,) = [r for r in fake.requests if r.path == "/2/oauth2/token"]
    assert exchange.headers["authorization"].startswith("Basic ")          # a Web App authenticates
    assert_never_printed(result, access, fake.refresh_token, fake_x.CLIENT_SECRET)
    assert fake.oauth2.codes == {}


def test_oauth2_native_app_with_the_address_pasted(tmp_path, fake):
    path = env_file(tmp_path)
    redirect = "https://example.com/x/callback"           # nothing listens there: the user pastes where it landed
    fake.oauth2.apps[fake_x.CLIENT_ID].redirect_uris.append(redirect)
    session = oauth2_session(tmp_path, fake, fake_x.CLIENT_ID, "", redirect)
    landed = httpx.get(session.until("/i/oauth2/authorize?"), timeout=10)
    result = session.finish(landed.headers["location"])
    assert result.returncode == 0, result.stderr
    assert "copy that whole address" in result.stdout, result.stdout
    values = assert_written(path, {"X_CLIENT_ID": fake_x.CLIENT_ID, "X_OAUTH2_REFRESH_TOKEN": fake.refresh_token})
    assert "X_CLIENT_SECRET" not in values
    (exchange,) = [r for r in fake.requests if r.path == "/2/oauth2/token"]
    assert "authorization" not in exchange.headers and exchange.form()["client_id"] == [fake_x.CLIENT_ID]
    assert_never_printed(result, values["X_OAUTH2_ACCESS_TOKEN"], fake.refresh_token, landed_code(landed))


def test_oauth2_a_wrong_client_secret_says_what_to_check_and_writes_nothing(tmp_path, fake):
    env_file(tmp_path)
    redirect = free_redirect()
    fake.oauth2.apps[fake_x.WEB_CLIENT_ID].redirect_uris.append(redirect)
    session = oauth2_session(tmp_path, fake, fake_x.WEB_CLIENT_ID, "wrong-secret", redirect)
    session.open_link("/i/oauth2/authorize?")
    result = session.finish()
    # X's description is shown, not its bare error code
    assert result.returncode == 2 and "401" in result.stderr and "(Missing valid authorization header)" in result.stderr
    assert "unauthorized_client" not in result.stdout + result.stderr
    assert "check the Client ID and Secret" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / ".env").read_text() == KEPT
    assert_never_printed(result, "wrong-secret")


def test_fake_x_codes_need_the_verifier_work_once_and_last_30_seconds(fake):
    redirect = "http://127.0.0.1:9/callback"
    fake.oauth2.apps[fake_x.CLIENT_ID].redirect_uris.append(redirect)
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"           # RFC 7636 appendix B
    query = {"response_type": "code", "client_id": fake_x.CLIENT_ID, "redirect_uri": redirect, "state": "s",
             "scope": "tweet.read offline.access", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256"}
    authorize = fake.url + "/i/oauth2/authorize"
    assert "error=invalid_request" in httpx.get(authorize, params={**query, "code_challenge": ""}).headers["location"]
    assert httpx.get(authorize, params={**query, "redirect_uri": "http://127.0.0.1:9/other"}).status_code == 400

    def exchange(code: str, verifier: str = verifier, uri: str = redirect) -> httpx.Response:
        return httpx.post(fake.url + "/2/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                              "client_id": fake_x.CLIENT_ID, "redirect_uri": uri,
                                                              "code_verifier": verifier})
    code = landed_code(httpx.get(authorize, params=query))
    assert exchange(code, verifier="wrong").json()["error"] == "invalid_request"
    assert exchange(code).status_code == 400                                # tried once: gone
    code = landed_code(httpx.get(authorize, params=query))
    assert exchange(code, uri="http://127.0.0.1:9/other").status_code == 400
    code = landed_code(httpx.get(authorize, params=query))
    fake.oauth2.clock = lambda: datetime.now(timezone.utc) + timedelta(seconds=31)
    assert exchange(code).status_code == 400                                # too late
    fake.oauth2.clock = lambda: datetime.now(timezone.utc)
    answer = exchange(landed_code(httpx.get(authorize, params=query))).json()
    assert answer["expires_in"] == 7200 and answer["refresh_token"] == fake.refresh_token


# ---- a 2-hour token renewed before a post and on status -----------------------------------------------
def oauth2_settings(fake, expires_at: datetime):
    return settings_for({"POSTBOT_CHANNELS": "x", "X_API_URL": fake.url, "X_CLIENT_ID": fake_x.CLIENT_ID,
                         "X_OAUTH2_ACCESS_TOKEN": "fake-oauth2-access-1", "X_OAUTH2_REFRESH_TOKEN": "fake-oauth2-refresh-1",
                         "X_OAUTH2_EXPIRES_AT": expires_at.isoformat()})


def test_an_oauth2_token_about_to_expire_is_renewed_before_the_post(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add_delivery(store, "x", [part("Renewed first", {"text": "Renewed first"})], slug="p")
    assert run_once(store, oauth2_settings(fake, NOW + timedelta(minutes=3)), clock) == 1
    paths = [r.path for r in fake.requests]
    assert paths.index("/2/oauth2/token") < paths.index("/2/tweets") and fake.refreshes == 1
    (post,) = [r for r in fake.requests if r.path == "/2/tweets"]
    kept = store.state_get("x", "oauth2_tokens")
    assert post.headers["authorization"] == f"Bearer {kept['access_token']}"
    assert kept["refresh_token"] == fake.refresh_token == "fake-oauth2-refresh-2"     # the rotated one, kept
    assert parse_expiry(kept["expires_at"]) == NOW + timedelta(hours=2)
    assert store.get(delivery.id).state is State.PUBLISHED
    # An hour later the kept token is still good: no second refresh.
    add_delivery(store, "x", [part("An hour later", {"text": "An hour later"})], slug="q", due=clock.advance(hours=1))
    assert run_once(store, oauth2_settings(fake, NOW + timedelta(minutes=3)), clock) == 1 and fake.refreshes == 1


def test_an_oauth2_token_with_an_hour_left_is_used_as_it_is(tmp_path, fake):
    store = sqlite_store(tmp_path)
    add_delivery(store, "x", [part("As it is", {"text": "As it is"})], slug="p")
    assert run_once(store, oauth2_settings(fake, NOW + timedelta(hours=1)), Clock()) == 1
    assert fake.refreshes == 0


def test_status_renews_an_expired_oauth2_token_and_shows_until_when(tmp_path, fake):
    store = sqlite_store(tmp_path)
    past = datetime.now(timezone.utc) - timedelta(hours=5)
    before = datetime.now(timezone.utc)
    (entry,) = asyncio.run(check_channels(oauth2_settings(fake, past), store))
    after = datetime.now(timezone.utc)
    assert entry.ready, entry.detail
    assert fake.refreshes == 1 and "access token valid until" in entry.detail
    # the renewed token's 2 hours (shown to the minute), not the expired one's time
    shown = re.search(r"valid until (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", entry.detail).group(1)
    shown_at = datetime.strptime(shown, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    assert before + timedelta(hours=2) - timedelta(minutes=2) <= shown_at <= after + timedelta(hours=2), entry.detail
    fake.refresh_token = "revoked"                       # the user revoked the app: the kept pair is dead
    fake.expire_access_tokens()
    store.state_set("x", "oauth2_tokens", {**store.state_get("x", "oauth2_tokens"), "expires_at": past.isoformat()})
    (entry,) = asyncio.run(check_channels(oauth2_settings(fake, past), store))
    assert not entry.ready and "postbot connect x --name x" in entry.detail
