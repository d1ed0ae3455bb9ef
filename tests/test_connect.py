"""`postbot connect` end to end: the real command in a child process, its prompts answered on stdin,
against the strict fakes (and the real PDS for Bluesky); .env written 0600 with the other lines kept,
and no secret in anything the command printed."""
from __future__ import annotations

import asyncio
import secrets
import stat
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postbot.connect.envfile import read_settings
from postbot.connect.oauth import call_json
from postbot.redact import redact
from tests.fakes.discord import FakeDiscord
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import FakeServer, Reply
from tests.fakes.slack import FakeSlack
from tests.connecting import (KEPT, Session, assert_never_printed, assert_written, connect, env_file,
                               read_settings_text)
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN, FakeTelegram
from tests.process import child_env

# ---- Telegram --------------------------------------------------------------------------------
@pytest.fixture
def telegram():
    with FakeTelegram() as server:
        yield server


def test_telegram_bot_token_verified_with_getme_and_the_chat_with_getchat(tmp_path, telegram):
    path = env_file(tmp_path)
    result = connect(tmp_path, ["telegram", "--name", "news"], [TELEGRAM_TOKEN, "@postbot_news"],
                     {"NEWS_API_URL": telegram.url})
    assert result.returncode == 0, result.stderr
    assert "https://t.me/BotFather" in result.stdout and "@postbot_test_bot" in result.stdout
    assert_written(path, {"NEWS_BOT_TOKEN": TELEGRAM_TOKEN, "NEWS_CHAT_ID": "@postbot_news",
                          "POSTBOT_CHANNELS": "news=telegram"})
    assert_never_printed(result, TELEGRAM_TOKEN)
    called = [r.path.rsplit("/", 1)[-1] for r in telegram.requests]
    assert called == ["getMe", "getChat"]


def test_telegram_wrong_token_is_asked_again_and_a_chat_the_bot_is_not_in_is_named(tmp_path, telegram):
    path = env_file(tmp_path)
    wrong = "123456:" + "W" * 30
    result = connect(tmp_path, ["telegram"], [wrong, "@postbot_news", TELEGRAM_TOKEN, "@elsewhere",
                                              TELEGRAM_TOKEN, "@postbot_news"],
                     {"TELEGRAM_API_URL": telegram.url})
    assert result.returncode == 0, result.stderr
    assert "telegram answered 401" in result.stdout and "TELEGRAM_BOT_TOKEN" in result.stdout
    assert "chat not found" in result.stdout and "add the bot to that chat" in result.stdout
    assert_written(path, {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "POSTBOT_CHANNELS": "telegram"})
    assert_never_printed(result, TELEGRAM_TOKEN, wrong)


def test_giving_up_writes_nothing(tmp_path, telegram):
    path = env_file(tmp_path)
    wrong = "123456:" + "W" * 30
    result = connect(tmp_path, ["telegram"], [wrong, "@postbot_news"] * 3, {"TELEGRAM_API_URL": telegram.url})
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert path.read_text() == KEPT and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert_never_printed(result, wrong)


def test_input_ending_early_writes_nothing(tmp_path):
    result = connect(tmp_path, ["telegram"], [])
    assert result.returncode == 2 and "input ended" in result.stderr
    assert not (tmp_path / ".env").exists()


# ---- Discord and Slack ---------------------------------------------------------------------------
def test_discord_webhook_verified_with_a_get(tmp_path):
    path = env_file(tmp_path, KEPT + "POSTBOT_CHANNELS=x\n")
    with FakeDiscord() as fake:
        url = fake.webhook_url()
        result = connect(tmp_path, ["discord"], [url])
        assert result.returncode == 0, result.stderr
        assert [(r.method, r.path) for r in fake.requests] == [("GET", url[len(fake.url):])]
    assert path.read_text().startswith(KEPT + "POSTBOT_CHANNELS=")
    values = read_settings(path)
    assert values["DISCORD_WEBHOOK_URL"] == url and values["POSTBOT_CHANNELS"] == "x,discord"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert_never_printed(result, url, url.rsplit("/", 1)[1])


def test_slack_webhook_probed_without_posting(tmp_path):
    path = env_file(tmp_path)
    with FakeSlack() as fake:
        bad = fake.webhook_url[:-4] + "nope"
        result = connect(tmp_path, ["slack", "--name", "team"], [bad, fake.webhook_url])
        assert result.returncode == 0, result.stderr
        assert fake.messages == []               # the probe posts nothing
    assert "slack answered 403 invalid_token" in result.stdout
    assert_written(path, {"TEAM_WEBHOOK_URL": fake.webhook_url, "POSTBOT_CHANNELS": "team=slack"})
    assert_never_printed(result, fake.webhook_url, bad.rsplit("/", 1)[1])


def test_a_name_taken_by_another_platform_is_refused(tmp_path):
    env_file(tmp_path, KEPT + "POSTBOT_CHANNELS=work=mastodon\n")
    result = connect(tmp_path, ["slack", "--name", "work"], ["unused"])
    assert result.returncode == 2 and "already a mastodon channel" in result.stderr


# ---- Bluesky against the real PDS -----------------------------------------------------------
def app_password(pds_url: str, account: dict[str, str]) -> str:
    session = httpx.post(f"{pds_url}/xrpc/com.atproto.server.createSession",
                         json={"identifier": account["handle"], "password": account["password"]}, timeout=30).json()
    answer = httpx.post(f"{pds_url}/xrpc/com.atproto.server.createAppPassword", json={"name": "postbot"},
                        headers={"Authorization": f"Bearer {session['accessJwt']}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["password"]


@pytest.mark.pds
def test_bluesky_app_password_verified_with_createsession_and_the_account_password_refused(
        tmp_path, pds_url, pds_account):
    path = env_file(tmp_path)
    password = app_password(pds_url, pds_account)
    result = connect(tmp_path, ["bluesky"], [pds_url, pds_account["handle"], pds_account["password"], password])
    assert result.returncode == 0, result.stderr
    assert "never your account password" in result.stdout
    assert "that is your account password" in result.stdout
    assert pds_account["did"] in result.stdout
    assert_written(path, {"BLUESKY_HANDLE": pds_account["handle"], "BLUESKY_APP_PASSWORD": password,
                          "BLUESKY_SERVICE": pds_url, "POSTBOT_CHANNELS": "bluesky"})
    assert_never_printed(result, password, pds_account["password"])
    # What was written works: status checks the channel with it.
    status = subprocess.run([sys.executable, "-m", "postbot", "status", "--json"], env=child_env({}), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    assert pds_account["handle"] in status.stdout
    assert_never_printed(status, password)


# ---- Mastodon: app registration, OAuth code with PKCE on a 127.0.0.1 redirect ---------------------
@pytest.fixture
def mastodon():
    with FakeMastodon(max_characters=1234) as server:
        yield server


def authorize_link(session: Session, fake) -> str:
    link = session.type(fake.url).until("/oauth/authorize?")
    assert "click Authorize" in session.seen[-1]
    return link


def test_mastodon_browser_comes_back_to_the_local_redirect(tmp_path, mastodon):
    path = env_file(tmp_path)
    session = Session(tmp_path, ["mastodon", "--name", "work"])
    link = authorize_link(session, mastodon)
    query = parse_qs(urlsplit(link).query)
    assert query["redirect_uri"][0].startswith("http://127.0.0.1:") and query["code_challenge_method"] == ["S256"]
    page = httpx.get(link, follow_redirects=True, timeout=10)     # the user clicks Authorize
    assert page.status_code == 200 and "go back to the terminal" in page.text
    result = session.finish()
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, err
    assert "@postbot on 127.0.0.1" in out and "allows 1234 characters" in out
    (app,) = mastodon.apps.values()
    assert app["scopes"] == ["read:accounts", "write:statuses", "write:media"]
    (token,) = mastodon.issued
    assert_written(path, {"WORK_URL": mastodon.url, "WORK_ACCESS_TOKEN": token, "POSTBOT_CHANNELS": "work=mastodon"})
    assert token not in out + err and app["client_secret"] not in out + err
    assert mastodon.codes == {}                                   # the code was exchanged (and cannot be again)


def test_mastodon_pasted_address_works_when_the_browser_is_elsewhere(tmp_path, mastodon):
    path = env_file(tmp_path)
    session = Session(tmp_path, ["mastodon"])
    link = authorize_link(session, mastodon)
    landed = httpx.get(link, timeout=10).headers["location"]     # the redirect a remote browser cannot follow
    code = parse_qs(urlsplit(landed).query)["code"][0]
    result = session.finish(landed)
    assert result.returncode == 0, result.stderr
    (token,) = mastodon.issued
    assert_written(path, {"MASTODON_URL": mastodon.url, "MASTODON_ACCESS_TOKEN": token})
    assert_never_printed(result, token, code)


def test_mastodon_a_link_from_another_attempt_is_refused(tmp_path, mastodon):
    env_file(tmp_path)
    session = Session(tmp_path, ["mastodon"])
    link = authorize_link(session, mastodon)
    landed = httpx.get(link, timeout=10).headers["location"].replace("state=", "state=x")
    result = session.finish(landed)
    assert result.returncode == 2 and "another state" in result.stderr
    assert mastodon.issued == set() and read_settings(tmp_path / ".env") == read_settings_text(KEPT)


def test_mastodon_deny_says_what_to_do_and_writes_nothing(tmp_path, mastodon):
    mastodon.declines = True
    env_file(tmp_path)
    session = Session(tmp_path, ["mastodon"])
    link = authorize_link(session, mastodon)
    httpx.get(link, follow_redirects=True, timeout=10)
    result = session.finish()
    assert result.returncode == 2 and "click Authorize" in result.stderr and "denied" in result.stderr
    assert (tmp_path / ".env").read_text() == KEPT


def test_fake_mastodon_token_needs_the_pkce_verifier(mastodon):
    app = httpx.post(mastodon.url + "/api/v1/apps", data={"client_name": "t", "redirect_uris": "http://127.0.0.1:9/cb",
                                                          "scopes": "read:accounts"}).json()
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": "http://127.0.0.1:9/cb",
             "scope": "read:accounts", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256"}
    without = httpx.get(mastodon.url + "/oauth/authorize", params={**query, "code_challenge": ""})
    assert "error=invalid_request" in without.headers["location"]
    def exchange(verifier: str) -> httpx.Response:
        landed = httpx.get(mastodon.url + "/oauth/authorize", params=query).headers["location"]
        return httpx.post(mastodon.url + "/oauth/token", data={
            "grant_type": "authorization_code", "code": parse_qs(urlsplit(landed).query)["code"][0],
            "client_id": app["client_id"], "client_secret": app["client_secret"],
            "redirect_uri": "http://127.0.0.1:9/cb", "code_verifier": verifier})
    assert exchange("wrong").json()["error"] == "invalid_grant"
    # RFC 7636 appendix B: this verifier hashes to the challenge above.
    assert exchange("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").json()["token_type"] == "Bearer"


# ---- what a token request answers is remembered as a secret, and only that --------------------------------
def test_call_json_remembers_the_tokens_in_an_answer_however_deep_and_not_the_token_type():
    access, page = "user-" + secrets.token_urlsafe(12), "page-" + secrets.token_urlsafe(12)
    with FakeServer() as server:
        server.route("GET", "/me/accounts", lambda request: Reply(200, {
            "access_token": access, "token_type": "bearer", "data": [{"id": "1", "access_token": page}]}))

        async def call() -> dict:
            async with httpx.AsyncClient() as client:
                return await call_json(client, "GET", server.url + "/me/accounts", what="listing your Pages",
                                       fix="run postbot connect again")
        answer = asyncio.run(call())
    assert answer["data"][0]["access_token"] == page
    assert redact(f"user {access}, Page {page}") == "user ***, Page ***"
    assert redact("token_type bearer") == "token_type bearer"


# ---- a real terminal: the secret prompt does not echo ----------------------------------------------------
def test_on_a_terminal_the_bot_token_is_not_echoed(tmp_path, telegram):
    """Under a pseudo-terminal (the child's controlling tty), typed answers echo as usual but the secret,
    read with getpass, never shows; the chat typed after it is read from the same terminal."""
    import os
    import pty
    import select
    import signal
    import time

    env_file(tmp_path)
    pid, master = pty.fork()
    if pid == 0:                                       # the child: the real command on the terminal
        os.chdir(tmp_path)
        os.execvpe(sys.executable, [sys.executable, "-m", "postbot", "connect", "telegram"],
                   child_env({"TELEGRAM_API_URL": telegram.url}))
    seen = b""

    def read_to(marker: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:                        # the child closed the terminal
                    break
        assert marker in seen, seen.decode(errors="replace")

    try:
        read_to(b"(input hidden): ")
        os.write(master, TELEGRAM_TOKEN.encode() + b"\n")
        read_to(b"numeric id")
        os.write(master, b"@postbot_news\n")
        read_to(b"Next: postbot status")
    finally:
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            time.sleep(0.5)                            # let it finish writing; a stuck one is killed
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
        os.close(master)
    output = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert "@postbot_news" in output                   # an ordinary answer echoes
    assert TELEGRAM_TOKEN not in output                # the secret does not
    assert read_settings(tmp_path / ".env")["TELEGRAM_BOT_TOKEN"] == TELEGRAM_TOKEN
