"""`postbot connect linkedin` end to end against the strict LinkedIn fake: the authorization code on the
registered loopback redirect, the token exchanged with the client secret, verified with userinfo, the
author picked from what the API returns (the member or a Page from organizationAcls), the refresh token
kept for renewal; and the posts go out as the author picked."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postbot.models import State
from postbot.platforms.lifetime import parse_expiry
from tests.connecting import KEPT, Session, assert_never_printed, assert_written, env_file, free_redirect
from tests.fakes.linkedin import LinkedInFake
from tests.helpers import Clock, add_delivery, part, run_once, settings_for, sqlite_store

CLIENT_ID, CLIENT_SECRET = "86vhj2q7ukf83q", "WPL_AP1.fake-linkedin-secret"


@pytest.fixture
def fake():
    with LinkedInFake(today=datetime.now(timezone.utc).date()) as server:
        yield server


def start(tmp_path, fake, redirect: str, *, secret: str = CLIENT_SECRET, pages: str = "n") -> Session:
    session = Session(tmp_path, ["linkedin", "--name", "work"],
                      {"WORK_API_URL": fake.url, "WORK_OAUTH_URL": fake.url + "/oauth/v2"})
    return session.type(CLIENT_ID, secret, pages, redirect)


def post_as(tmp_path, values: dict[str, str], fake) -> str:
    store = sqlite_store(tmp_path)
    text = "Connected to LinkedIn"
    delivery = add_delivery(store, "work", [part(text, {"commentary": text, "visibility": "PUBLIC",
                                                        "distribution": {"feedDistribution": "MAIN_FEED"},
                                                        "lifecycleState": "PUBLISHED"})], slug="p",
                            due=datetime.now(timezone.utc))
    settings = settings_for({**values, "WORK_API_URL": fake.url, "WORK_OAUTH_URL": fake.url + "/oauth/v2"})
    assert run_once(store, settings, Clock(datetime.now(timezone.utc))) == 1
    assert store.get(delivery.id).state is State.PUBLISHED
    (stored,) = fake.posts.values()
    return stored["author"]


def test_member_connects_and_the_refresh_token_is_kept(tmp_path, fake):
    path = env_file(tmp_path)
    redirect = free_redirect()
    fake.oauth.register(CLIENT_ID, CLIENT_SECRET, redirect)
    session = start(tmp_path, fake, redirect)
    link = session.until("/oauth/v2/authorization?")
    query = parse_qs(urlsplit(link).query)
    assert query["scope"] == ["openid profile w_member_social"] and "code_challenge" not in query
    assert "go back to the terminal" in httpx.get(link, follow_redirects=True, timeout=10).text
    result = session.finish()
    assert result.returncode == 0, result.stderr
    assert "Authorized redirect URLs for your app" in result.stdout and "click Allow" in result.stdout
    assert "signed in as Lewis Robinson" in result.stdout
    (token,) = [t for t in fake.tokens if t.startswith("AQV")]
    (refresh,) = fake.refresh_tokens
    values = assert_written(path, {"WORK_ACCESS_TOKEN": token, "WORK_AUTHOR": "urn:li:person:abc123XYZ",
                                   "WORK_REFRESH_TOKEN": refresh, "WORK_CLIENT_ID": CLIENT_ID,
                                   "WORK_CLIENT_SECRET": CLIENT_SECRET, "POSTBOT_CHANNELS": "work=linkedin"})
    left = parse_expiry(values["WORK_TOKEN_EXPIRES_AT"]) - datetime.now(timezone.utc)
    assert timedelta(days=59, hours=23) < left <= timedelta(days=60)
    assert_never_printed(result, token, refresh, CLIENT_SECRET)
    assert post_as(tmp_path, values, fake) == "urn:li:person:abc123XYZ"


def test_a_page_is_picked_from_organization_acls_and_posts_as_the_page(tmp_path, fake):
    path = env_file(tmp_path)
    redirect = free_redirect()
    fake.oauth.register(CLIENT_ID, CLIENT_SECRET, redirect)
    fake.signed_in["organizations"] = ("2414183", "5590506")
    fake.organization_names.update({"2414183": "Lewis Robinson Fitness", "5590506": "Other Page"})
    fake.grants_refresh_tokens = False
    session = start(tmp_path, fake, redirect, pages="y")
    link = session.until("/oauth/v2/authorization?")
    assert parse_qs(urlsplit(link).query)["scope"] == [
        "openid profile w_member_social r_organization_admin w_organization_social"]
    httpx.get(link, follow_redirects=True, timeout=10)
    session.until("the Page Other Page")
    result = session.finish("2")
    assert result.returncode == 0, result.stderr
    assert "1. you, Lewis Robinson" in result.stdout and "2. the Page Lewis Robinson Fitness" in result.stdout
    assert "no refresh token" in result.stdout and "postbot connect linkedin --name work" in result.stdout
    values = assert_written(path, {"WORK_AUTHOR": "urn:li:organization:2414183"})
    assert "WORK_REFRESH_TOKEN" not in values and "WORK_CLIENT_SECRET" not in values
    assert post_as(tmp_path, values, fake) == "urn:li:organization:2414183"
    acl = next(r for r in fake.requests if r.path == "/rest/organizationAcls")
    assert acl.headers["linkedin-version"] and acl.headers["x-restli-protocol-version"] == "2.0.0"


def test_a_wrong_client_secret_names_what_to_check_and_writes_nothing(tmp_path, fake):
    env_file(tmp_path)
    redirect = free_redirect()
    fake.oauth.register(CLIENT_ID, CLIENT_SECRET, redirect)
    session = start(tmp_path, fake, redirect, secret="not-the-secret")
    session.open_link("/oauth/v2/authorization?")
    result = session.finish()
    # LinkedIn's description is shown, not its bare error code
    assert result.returncode == 2 and "invalid_client" not in result.stdout + result.stderr
    assert "401" in result.stderr and "Client authentication failed" in result.stderr
    assert "check the Client ID and Secret (Auth tab)" in result.stderr
    assert (tmp_path / ".env").read_text() == KEPT
    assert_never_printed(result, "not-the-secret")


def test_a_redirect_url_not_registered_stops_at_linkedins_page(tmp_path, fake):
    env_file(tmp_path)
    fake.oauth.register(CLIENT_ID, CLIENT_SECRET, "http://127.0.0.1:8765/callback")
    session = start(tmp_path, fake, free_redirect())
    page = session.open_link("/oauth/v2/authorization?")
    assert page.status_code == 400 and "does not match the registered value" in page.text
    session.process.kill()
    assert fake.tokens == {}


def test_fake_linkedin_codes_work_once_for_their_redirect_and_client(fake):
    redirect = "http://127.0.0.1:9/callback"
    fake.oauth.register(CLIENT_ID, CLIENT_SECRET, redirect, scopes={"openid", "profile", "w_member_social"})
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect, "state": "s",
             "scope": "openid w_member_social"}
    authorize = fake.url + "/oauth/v2/authorization"
    denied = httpx.get(authorize, params={**query, "scope": "w_organization_social"}).headers["location"]
    assert "error=unauthorized_scope_error" in denied

    def exchange(uri: str = redirect, secret: str = CLIENT_SECRET) -> httpx.Response:
        landed = httpx.get(authorize, params=query).headers["location"]
        code = parse_qs(urlsplit(landed).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
                "client_secret": secret, "redirect_uri": uri}
        first = httpx.post(fake.url + "/oauth/v2/accessToken", data=form)
        if first.status_code == 200:
            assert httpx.post(fake.url + "/oauth/v2/accessToken", data=form).json()["error"] == "invalid_request"
        return first
    assert exchange(secret="wrong").json() == {"error": "invalid_client",
                                               "error_description": "Client authentication failed"}
    assert "does not match authorization code" in exchange(uri="http://127.0.0.1:9/other").json()["error_description"]
    assert exchange().json()["expires_in"] == 5184000
