"""`postbot connect` end to end: the real command in a child process, its prompts answered on stdin,
against the strict fakes (and the real PDS for Bluesky); .env written 0600 with the other lines kept,
and no secret in anything the command printed."""
from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from postbot.connect.envfile import read_settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN, FakeTelegram
from tests.process import child_env

KEPT = "# my settings\nPOSTBOT_TIMEZONE=Europe/Berlin\nOTHER='kept as it was'\n"


def connect(tmp_path: Path, args: list[str], answers: list[str], env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "postbot", "connect", *args],
                          input="".join(line + "\n" for line in answers), env=child_env(env or {}),
                          cwd=tmp_path, capture_output=True, text=True, timeout=timeout)


def env_file(tmp_path: Path, text: str = KEPT) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    path.chmod(0o644)
    return path


def assert_written(path: Path, expected: dict[str, str]) -> dict[str, str]:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith(KEPT)                # every other line kept, in place
    values = read_settings(path)
    for key, value in expected.items():
        assert values[key] == value, key
    return values


def assert_never_printed(result: subprocess.CompletedProcess, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr


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
