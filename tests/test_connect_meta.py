"""`postbot connect facebook|instagram|threads` end to end against the strict Meta fakes with their
login endpoints (tests/fakes/meta_login.py): the code on the registered redirect, the long-lived token
(fb_exchange_token / th_exchange_token), the Page or Instagram account picked from /me/accounts; then
what was written publishes, and a Threads token 3 days from expiry is renewed by `postbot run --once`
before the post."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postbot.app import check_channels
from postbot.models import State
from postbot.platforms.lifetime import parse_expiry
from tests.connecting import KEPT, Session, assert_never_printed, assert_written, env_file, free_redirect
from tests.fakes.meta import FacebookFake, InstagramFake, ThreadsFake
from tests.fakes.meta_login import FacebookLogin, ThreadsLogin
from tests.helpers import Clock, add_delivery, part, run_once, settings_for, sqlite_store, write_post
from tests.process import postbot

APP_ID, APP_SECRET = "442224939723604", "fake-meta-app-secret-1"
UTC = timezone.utc


def about_60_days(value: str) -> bool:
    left = parse_expiry(value) - datetime.now(UTC)
    return timedelta(days=59, hours=23) < left <= timedelta(days=60)


# ---- Facebook Pages --------------------------------------------------------------------------------
@pytest.fixture
def facebook():
    with FacebookFake() as fake:
        login = FacebookLogin(fake, "v25.0", [{"id": "998877665", "name": "Another Page"},
                                              {"id": fake.page_id, "name": fake.page_name}], "10000000000042")
        yield fake, login


def facebook_session(tmp_path, fake, redirect: str, secret: str = APP_SECRET) -> Session:
    session = Session(tmp_path, ["facebook"], {"FACEBOOK_API_URL": fake.url,
                                               "FACEBOOK_AUTHORIZE_URL": fake.url + "/v25.0/dialog/oauth"})
    return session.type(APP_ID, secret, redirect)


def test_facebook_page_picked_from_me_accounts_and_its_token_publishes(tmp_path, facebook):
    fake, login = facebook
    path = env_file(tmp_path)
    redirect = free_redirect()
    login.register(APP_ID, APP_SECRET, redirect)
    session = facebook_session(tmp_path, fake, redirect)
    link = session.until("/v25.0/dialog/oauth?")
    assert parse_qs(urlsplit(link).query)["scope"] == ["pages_show_list,pages_manage_posts,pages_read_engagement"]
    assert "go back to the terminal" in httpx.get(link, follow_redirects=True, timeout=10).text
    session.until(f"2. {fake.page_name}")
    result = session.finish("2")
    assert result.returncode == 0, result.stderr
    assert "Valid OAuth Redirect URIs" in result.stdout and f"page {fake.page_name}" in result.stdout
    page_token = login.pages[1]["access_token"]
    values = assert_written(path, {"FACEBOOK_PAGE_ID": fake.page_id, "FACEBOOK_PAGE_TOKEN": page_token,
                                   "POSTBOT_CHANNELS": "facebook"})
    exchanges = [r.query for r in fake.requests if r.path == "/v25.0/oauth/access_token"]
    assert [q.get("grant_type", ["code"])[0] for q in exchanges] == ["code", "fb_exchange_token"]
    assert (login.long_lived and
            [r.headers.get("authorization") for r in fake.requests if r.path == "/v25.0/me/accounts"]
            == [f"Bearer {login.long_lived[0]}"])          # the Pages listed with the long-lived user token
    assert_never_printed(result, APP_SECRET, page_token, login.long_lived[0], *login.short_lived)
    store = sqlite_store(tmp_path)
    delivery = add_delivery(store, "facebook", [part("Hello Page", {"message": "Hello Page"})], slug="p",
                            due=datetime.now(UTC))
    assert run_once(store, settings_for({**values, "FACEBOOK_API_URL": fake.url}), Clock(datetime.now(UTC))) == 1
    assert store.get(delivery.id).state is State.PUBLISHED
    assert [p["message"] for p in fake.posts.values()] == ["Hello Page"]


def test_facebook_a_wrong_app_secret_is_named_and_nothing_written(tmp_path, facebook):
    fake, login = facebook
    env_file(tmp_path)
    redirect = free_redirect()
    login.register(APP_ID, APP_SECRET, redirect)
    session = facebook_session(tmp_path, fake, redirect, secret="not-the-app-secret")
    session.open_link("/v25.0/dialog/oauth?")
    result = session.finish()
    assert result.returncode == 2
    assert "Error validating client secret" in result.stderr and "App settings > Basic" in result.stderr
    assert (tmp_path / ".env").read_text() == KEPT
    assert_never_printed(result, "not-the-app-secret")


def test_fake_facebook_codes_are_single_use_and_bound_to_the_redirect(facebook):
    fake, login = facebook
    login.register(APP_ID, APP_SECRET, "http://127.0.0.1:9/cb")
    dialog = {"client_id": APP_ID, "redirect_uri": "http://127.0.0.1:9/cb", "state": "s", "response_type": "code",
              "scope": "pages_show_list"}

    def code() -> str:
        landed = httpx.get(fake.url + "/v25.0/dialog/oauth", params=dialog).headers["location"]
        return parse_qs(urlsplit(landed).query)["code"][0]

    def exchange(value: str, uri: str = "http://127.0.0.1:9/cb") -> dict:
        return httpx.get(fake.url + "/v25.0/oauth/access_token", params={
            "client_id": APP_ID, "client_secret": APP_SECRET, "redirect_uri": uri, "code": value}).json()
    first = code()
    assert exchange(first)["token_type"] == "bearer"
    assert exchange(first)["error"]["error_subcode"] == 36009                       # used
    assert "redirect_uri is identical" in exchange(code(), "http://127.0.0.1:9/x")["error"]["message"]


# ---- Instagram through Facebook Login ----------------------------------------------------------------
def test_instagram_account_found_through_its_page_with_a_60_day_user_token(tmp_path):
    with InstagramFake() as fake:
        login = FacebookLogin(fake, "v25.0", [
            {"id": "5566778899", "name": "A Page without Instagram"},
            {"id": "1122334455", "name": "Lewis Robinson Fitness",
             "instagram_business_account": {"id": fake.user_id, "username": fake.username}}], fake.user_id)
        path = env_file(tmp_path)
        redirect = free_redirect()
        login.register(APP_ID, APP_SECRET, redirect)
        session = Session(tmp_path, ["instagram", "--name", "gram"], {
            "GRAM_API_URL": fake.api_url, "GRAM_AUTHORIZE_URL": fake.url + "/v25.0/dialog/oauth"})
        session.type(APP_ID, APP_SECRET, redirect).open_link("/v25.0/dialog/oauth?")
        result = session.finish()
        assert result.returncode == 0, result.stderr
        (token,) = login.long_lived
        values = assert_written(path, {"GRAM_USER_ID": fake.user_id, "GRAM_ACCESS_TOKEN": token,
                                       "GRAM_API_URL": fake.api_url, "GRAM_LOGIN": "facebook",
                                       "POSTBOT_CHANNELS": "gram=instagram"})
        assert about_60_days(values["GRAM_TOKEN_EXPIRES_AT"])
        assert f"@{fake.username}" in result.stdout and "cannot renew itself" in result.stdout
        assert "wins over" not in result.stdout         # the same API address in the environment is no conflict
        assert_never_printed(result, APP_SECRET, token)
        # Facebook Login tokens cannot renew themselves: a week before, status says to connect again.
        soon = {**values, "GRAM_API_URL": fake.api_url,
                "GRAM_TOKEN_EXPIRES_AT": (datetime.now(UTC) + timedelta(days=3)).isoformat()}
        (entry,) = asyncio.run(check_channels(settings_for(soon), sqlite_store(tmp_path)))
        assert entry.ready and any("postbot connect instagram --name gram" in w for w in entry.warnings)
        assert not [r for r in fake.requests if r.path == "/refresh_access_token"]


# ---- Threads -------------------------------------------------------------------------------------------
@pytest.fixture
def threads():
    with ThreadsFake() as fake:
        yield fake, ThreadsLogin(fake)


def connect_threads(tmp_path, fake, login) -> tuple[dict[str, str], object]:
    redirect = free_redirect()
    login.register(APP_ID, APP_SECRET, redirect)
    session = Session(tmp_path, ["threads"], {"THREADS_API_URL": fake.api_url,
                                              "THREADS_AUTHORIZE_URL": fake.url + "/oauth/authorize"})
    link = session.type(APP_ID, APP_SECRET, redirect).until("/oauth/authorize?")
    assert parse_qs(urlsplit(link).query)["scope"] == ["threads_basic,threads_content_publish"]
    httpx.get(link, follow_redirects=True, timeout=10)
    result = session.finish()
    assert result.returncode == 0, result.stderr
    return assert_written(tmp_path / ".env", {"THREADS_USER_ID": fake.user_id,
                                              "THREADS_ACCESS_TOKEN": login.long_lived[0]}), result


def test_threads_long_lived_token_and_its_expiry_written(tmp_path, threads):
    fake, login = threads
    env_file(tmp_path)
    values, result = connect_threads(tmp_path, fake, login)
    assert about_60_days(values["THREADS_TOKEN_EXPIRES_AT"])
    assert f"@{fake.username}" in result.stdout and "Redirect Callback URLs" in result.stdout
    (exchange,) = [r for r in fake.requests if r.path == "/oauth/access_token"]
    assert exchange.method == "POST" and exchange.form()["grant_type"] == ["authorization_code"]
    (long,) = [r for r in fake.requests if r.path == "/access_token"]
    assert long.query["grant_type"] == ["th_exchange_token"]
    assert_never_printed(result, APP_SECRET, login.long_lived[0], *login.short_lived)


def test_a_connected_threads_token_3_days_from_expiry_is_renewed_by_the_daemon_before_the_post(tmp_path, threads):
    """57 days after connecting (the expiry moved, through the environment, to 3 days from now): one
    `postbot run --once` renews the token, then posts with the new one; status shows the new expiry."""
    fake, login = threads
    env_file(tmp_path)
    connect_threads(tmp_path, fake, login)
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "THREADS_API_URL": fake.api_url,
           "THREADS_TOKEN_EXPIRES_AT": (datetime.now(UTC) + timedelta(days=3)).isoformat(timespec="seconds")}
    post = write_post(tmp_path, "Renewed before this went out. Then posted with the new token.", title="Renewal")
    assert postbot(["queue", str(post), "--at", "now"], env, tmp_path).returncode == 0
    fake.requests.clear()
    run = postbot(["run", "--once"], env, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    (renewed,) = fake.renewed
    paths = [r.path for r in fake.requests]
    assert paths.index("/refresh_access_token") < paths.index(f"/v1.0/{fake.user_id}/threads")
    created = next(r for r in fake.requests if r.path == f"/v1.0/{fake.user_id}/threads")
    assert created.form()["access_token"] == [renewed]
    assert [m["text"] for m in fake.media.values()][0].startswith("Renewed before this went out")
    status = postbot(["status", "--json"], env, tmp_path)
    (channel,) = json.loads(status.stdout)["channels"]
    day = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    assert channel["ready"] and f"token expires {day}" in channel["detail"]
    assert_never_printed(run, renewed, login.long_lived[0])
    assert_never_printed(status, renewed, login.long_lived[0])


def test_an_expired_threads_token_status_line_says_how_to_reconnect(tmp_path, threads):
    fake, login = threads
    env_file(tmp_path)
    values, _ = connect_threads(tmp_path, fake, login)
    gone = {**values, "THREADS_API_URL": fake.api_url,
            "THREADS_TOKEN_EXPIRES_AT": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
    (entry,) = asyncio.run(check_channels(settings_for(gone), sqlite_store(tmp_path)))
    assert not entry.ready and "expired on" in entry.detail
    assert "postbot connect threads --name threads" in entry.detail
