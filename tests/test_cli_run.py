"""`postbot run --once` under cron: every retry and failure is one line on stderr (delivery,
channel, reason, next attempt; never a secret) and the exit code says whether anything needs a human."""
from __future__ import annotations

import json
import re
import socket

import pytest

from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.helpers import write_post
from tests.process import postbot

SECRET = "hook-secret-that-must-not-show"
CHAT = "-1001234567890"


@pytest.fixture
def env(tmp_path):
    return {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "Europe/London",
            "OUTBOX_DIR": str(tmp_path / "outbox")}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def queued(env, tmp_path) -> list[dict]:
    post = write_post(tmp_path, "Squats build legs. Here is how to start this week.", title="Squats")
    result = postbot(["queue", str(post), "--at", "now", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"delivery \d+ \(", line)]


def test_connection_errors_are_logged_per_delivery_and_exit_75(env, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/hook"
    env |= {"POSTBOT_CHANNELS": "shop=webhook,club=webhook", "SHOP_URL": url, "SHOP_SECRET": SECRET,
            "CLUB_URL": url, "CLUB_SECRET": SECRET}
    deliveries = queued(env, tmp_path)
    run = postbot(["run", "--once"], env, tmp_path)
    assert run.returncode == 75, (run.stdout, run.stderr)
    lines = problem_lines(run.stderr)
    assert len(lines) == 2, run.stderr
    for delivery, line in zip(sorted(deliveries, key=lambda d: d["id"]), sorted(lines)):
        assert f"delivery {delivery['id']} ({delivery['channel']})" in line
        assert "next attempt 20" in line and re.search(r"\(in \d+s\)", line)    # a local time and how soon
        assert "attempt 1 of 5 failed" in line
    assert SECRET not in run.stderr + run.stdout
    assert "2 to retry" in run.stdout


def telegram_channel(fake) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "news=telegram", "NEWS_BOT_TOKEN": TOKEN, "NEWS_CHAT_ID": CHAT,
            "NEWS_API_URL": fake.url}


def test_a_rejected_delivery_is_logged_and_exits_1_without_the_token(env, tmp_path):
    with FakeTelegram(token="987654321:AAHtheRealTokenIsDifferent_zzzzzzzz") as fake:
        env |= telegram_channel(fake)
        [delivery] = queued(env, tmp_path)
        run = postbot(["run", "--once"], env, tmp_path)
    assert run.returncode == 1, (run.stdout, run.stderr)
    [line] = problem_lines(run.stderr)
    assert f"delivery {delivery['id']} (news): failed:" in line and "no further attempt" in line
    assert "NEWS_BOT_TOKEN" in line                                     # the fix is named
    assert TOKEN not in run.stderr + run.stdout and TOKEN.split(":")[1] not in run.stderr
    assert "postbot status" in run.stdout


def test_a_delivery_that_may_have_landed_is_logged_and_exits_1(env, tmp_path):
    with FakeTelegram() as fake:
        fake.outage = 502
        env |= telegram_channel(fake)
        [delivery] = queued(env, tmp_path)
        run = postbot(["run", "--once"], env, tmp_path)
    assert run.returncode == 1, (run.stdout, run.stderr)
    [line] = problem_lines(run.stderr)
    assert f"delivery {delivery['id']} (news): unknown:" in line
    assert TOKEN not in run.stderr
    listed = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)
    assert [d["state"] for d in listed] == ["unknown"]


def test_everything_published_exits_0_with_nothing_on_stderr_but_info(env, tmp_path):
    queued(env | {"POSTBOT_CHANNELS": "x=outbox"}, tmp_path)
    run = postbot(["run", "--once"], env | {"POSTBOT_CHANNELS": "x=outbox"}, tmp_path)
    assert run.returncode == 0, run.stderr
    assert problem_lines(run.stderr) == [] and "published 1" in run.stdout


def test_run_help_documents_the_exit_codes(tmp_path):
    result = postbot(["run", "--help"], {}, tmp_path)
    text = " ".join(result.stdout.split())
    assert "0 everything due was published" in text and "1 a delivery failed or became unknown" in text
    assert "75 a delivery waits for a retry" in text
