"""What `show`, `status` and `list` print: times in the configured zone, and a table that fits the
terminal without cutting words. Each runs the real `postbot` command."""
from __future__ import annotations

import json
import re
import socket

import pytest

from tests.helpers import write_post
from tests.process import REPO, postbot

EXAMPLE = REPO / "posts" / "hip-thrust-alternatives.md"


@pytest.fixture
def env(tmp_path):
    return {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "America/New_York",
            "OUTBOX_DIR": str(tmp_path / "outbox")}


def test_show_and_status_print_local_times_json_keeps_utc(env, tmp_path):
    queued = postbot(["queue", str(EXAMPLE), "--at", "2030-01-08T09:00", "--channel", "x", "--json"], env, tmp_path)
    assert queued.returncode == 0, queued.stderr
    [delivery] = json.loads(queued.stdout)
    shown = postbot(["show", str(delivery["id"])], env, tmp_path)
    assert "2030-01-08 09:00:00 EST" in shown.stdout and "Z" not in shown.stdout.split("text")[0]
    status = postbot(["status", "--offline"], env, tmp_path)
    assert "next due: 2030-01-08 09:00:00 EST" in status.stdout
    assert json.loads(postbot(["show", str(delivery["id"]), "--json"], env, tmp_path).stdout)["due_at"] \
        == "2030-01-08T14:00:00Z"
    preview = postbot(["preview", str(delivery["id"])], env, tmp_path)
    assert "due 2030-01-08 09:00:00 EST" in preview.stdout


def local_error(error: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    stamp = re.search(r"\S+\+00:00", error).group(0)
    moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo("America/New_York"))
    return error.replace(stamp, moment.strftime("%Y-%m-%d %H:%M:%S %Z"))


def failing_webhook(env, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = env | {"POSTBOT_CHANNELS": "shop=webhook", "SHOP_URL": f"http://127.0.0.1:{port}/hook",
                 "SHOP_SECRET": "s3cret"}
    post = write_post(tmp_path, "Squats build legs. Here is how to start.", title="A rather long title for squats")
    assert postbot(["queue", str(post), "--at", "now"], env, tmp_path).returncode == 0
    assert postbot(["run", "--once"], env, tmp_path).returncode == 75
    return env


def test_list_has_a_post_column_and_wraps_whole_words_to_the_terminal(env, tmp_path):
    env = failing_webhook(env, tmp_path)
    error = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)[0]["error"]
    table = postbot(["list"], env | {"COLUMNS": "100"}, tmp_path).stdout
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "DUE", "POST", "CHANNEL", "STATE", "TRIES", "RESULT"]
    assert "a-rather-lo" in lines[1] and "shop (generic)" in lines[1]
    assert all(len(line) <= 100 for line in lines), table
    assert len(lines) > 2                                     # RESULT went on over more lines
    result_at = lines[0].index("RESULT")
    result = " ".join(line[result_at:].strip() for line in lines[1:])
    assert result == " ".join(local_error(error).split())    # every word whole, in order
    assert re.search(r"retrying at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T", result)     # local, not UTC
    assert "+00:00" not in table and error.count("+00:00") == 1                       # stored as UTC
    narrow = postbot(["list"], env | {"COLUMNS": "60"}, tmp_path).stdout.splitlines()
    assert all(len(line) <= 60 for line in narrow[2:]), narrow   # RESULT goes under its row
    assert " ".join(line.strip() for line in narrow[2:]) == " ".join(local_error(error).split())
    wide = postbot(["list"], env | {"COLUMNS": "200"}, tmp_path).stdout.splitlines()
    assert len(wide) == 2 and "a-rather-long-title-for-squats" in wide[1]     # room: whole, one line


def test_list_into_a_pipe_keeps_each_delivery_on_one_line(env, tmp_path):
    env = failing_webhook(env, tmp_path)
    lines = postbot(["list"], env, tmp_path).stdout.splitlines()
    assert len(lines) == 2 and lines[1].rstrip().endswith("(ConnectError)")
