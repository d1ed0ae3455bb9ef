"""The `postbot` command end to end, as a user runs it (a child process, real files)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from postbot.platforms import PLATFORMS
from tests.fakes.mastodon import TOKEN, FakeMastodon
from tests.helpers import write_post
from tests.process import REPO, postbot

EXAMPLE = REPO / "posts" / "hip-thrust-alternatives.md"
RENDER_KEYS = {"channel", "platform", "text", "length", "limit", "fits", "truncated", "links", "warnings", "payload"}


@pytest.fixture
def env(tmp_path):
    return {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "Europe/London",
            "OUTBOX_DIR": str(tmp_path / "outbox")}


def delivery_count(tmp_path) -> int:
    path = tmp_path / "cli.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_preview_json_shape_for_every_platform(env, tmp_path):
    result = postbot(["preview", str(EXAMPLE), "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"title", "slug", "warnings"} <= set(data["post"])
    assert [r["channel"] for r in data["renders"]] == list(PLATFORMS)
    for render in data["renders"]:
        assert RENDER_KEYS <= set(render)
        assert render["fits"] and render["length"] <= render["limit"], render["channel"]
        assert render["payload"]
    x = next(r for r in data["renders"] if r["platform"] == "x")
    assert any("utm_source=x" in link and "utm_medium=social" in link for link in x["links"])


def test_preview_text_is_readable(env, tmp_path):
    result = postbot(["preview", str(EXAMPLE), "--channel", "linkedin"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "── linkedin (linkedin)" in result.stdout and "/3000 fits" in result.stdout
    assert "see more" in result.stdout                      # the fold is marked


def test_nothing_fits_exits_2_naming_channel_and_overflow(env, tmp_path):
    post = tmp_path / "huge-cta.md"
    label = "Book a session " * 25
    post.write_text(f"---\nctas:\n  - label: {label.strip()}\n    url: https://example.com/book\n---\nBody.\n")
    result = postbot(["preview", str(post), "--channel", "x"], env, tmp_path)
    assert result.returncode == 2
    assert "channel x" in result.stderr and "over the limit" in result.stderr


def test_queue_then_run_once_writes_the_previewed_text_to_the_outbox(env, tmp_path):
    preview = json.loads(postbot(["preview", str(EXAMPLE), "--json"], env, tmp_path).stdout)
    queued = postbot(["queue", str(EXAMPLE), "--at", "now", "--json"], env, tmp_path)
    assert queued.returncode == 0, queued.stderr
    deliveries = json.loads(queued.stdout)
    assert len(deliveries) == len(PLATFORMS)
    assert set(deliveries[0]) >= {"id", "post", "channel", "platform", "due_at", "state", "attempts",
                                  "remote_id", "remote_url", "error"}
    run = postbot(["run", "--once"], env, tmp_path)
    assert run.returncode == 0, run.stderr
    slug = preview["post"]["slug"]
    listed = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)
    assert {d["state"] for d in listed} == {"published"}
    written_to = {d["channel"]: Path(d["remote_id"]) for d in listed}
    for render in preview["renders"]:
        text_file = written_to[render["channel"]]
        assert text_file.parent == (tmp_path / "outbox" / slug).resolve()
        assert text_file.name.startswith(f"{render['channel']}-") and text_file.suffix == ".txt"
        assert text_file.read_text(encoding="utf-8") == render["text"] + "\n"
        sent = json.loads(text_file.with_suffix(".json").read_text())
        assert sent["payload"] == render["payload"]


def test_preview_of_a_queued_delivery_is_what_will_be_sent(env, tmp_path):
    queued = json.loads(postbot(["queue", str(EXAMPLE), "--at", "+1d", "--channel", "x", "--json"],
                                env, tmp_path).stdout)
    expected = json.loads(postbot(["preview", str(EXAMPLE), "--channel", "x", "--json"], env, tmp_path).stdout)
    shown = json.loads(postbot(["preview", str(queued[0]["id"]), "--json"], env, tmp_path).stdout)
    assert shown["renders"][0]["text"] == expected["renders"][0]["text"]
    assert shown["renders"][0]["payload"] == expected["renders"][0]["payload"]


def test_preview_uses_the_limits_queue_uses_when_the_instance_is_unreachable(env, tmp_path):
    # Mastodon limits differ per instance; once read they are kept in the store. Preview must render
    # with those same limits, not fall back to the default while queue uses the stored ones.
    body = " ".join(f"Sentence {i} explains one more thing about training the posterior chain." for i in range(40))
    post = str(write_post(tmp_path, body, title="Long", teaser_strategy="lead"))   # fills the room: the limit shows
    with FakeMastodon(max_characters=1000) as instance:
        env = env | {"POSTBOT_CHANNELS": "mastodon", "MASTODON_URL": instance.url, "MASTODON_ACCESS_TOKEN": TOKEN}
        first = postbot(["queue", post, "--at", "+1d", "--json"], env, tmp_path)
        assert first.returncode == 0, first.stderr
    previewed = postbot(["preview", post, "--json"], env, tmp_path)              # the instance is gone now
    assert previewed.returncode == 0, previewed.stderr
    [render] = json.loads(previewed.stdout)["renders"]
    [queued] = json.loads(postbot(["queue", post, "--at", "+1d", "--json", "--again"], env, tmp_path).stdout)
    shown = json.loads(postbot(["show", str(queued["id"]), "--json"], env, tmp_path).stdout)
    assert render["limit"] == 1000 and 500 < render["length"] <= 1000
    assert shown["parts"][0]["text"] == render["text"]
    assert shown["parts"][0]["payload"] == render["payload"]


@pytest.mark.parametrize("args,needle", [
    (["--at", "2020-01-01T09:00"], "in the past"),
    (["--at", "2026-03-29T01:30"], "does not exist"),
    (["--at", "soonish"], "ISO 8601"),
    (["--channel", "myspace"], "unknown channel 'myspace'"),
])
def test_bad_queue_input_exits_2_and_writes_nothing(env, tmp_path, args, needle):
    result = postbot(["queue", str(EXAMPLE), *args], env, tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert delivery_count(tmp_path) == 0


def test_missing_credentials_exit_2_naming_the_variable(env, tmp_path):
    env = {**env, "POSTBOT_CHANNELS": "x,hooks=webhook", "HOOKS_URL": "http://127.0.0.1:9/h"}
    result = postbot(["queue", str(EXAMPLE), "--at", "now"], env, tmp_path)
    assert result.returncode == 2
    assert "X_API_KEY" in result.stderr and "HOOKS_SECRET" in result.stderr
    assert delivery_count(tmp_path) == 0


def test_broken_post_file_exits_2_with_file_and_line(env, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: ok\nctas: [unclosed\n---\nBody\n")
    result = postbot(["queue", str(bad), "--at", "now"], env, tmp_path)
    assert result.returncode == 2
    assert str(bad) in result.stderr and ":3" in result.stderr
    assert delivery_count(tmp_path) == 0


def test_cancel_retry_reschedule_and_show(env, tmp_path):
    queued = json.loads(postbot(["queue", str(EXAMPLE), "--at", "+2h", "--channel", "x", "--json"],
                                env, tmp_path).stdout)
    delivery_id = str(queued[0]["id"])
    moved = json.loads(postbot(["reschedule", delivery_id, "--at", "+3h", "--json"], env, tmp_path).stdout)
    assert moved["due_at"] > queued[0]["due_at"]
    assert json.loads(postbot(["cancel", delivery_id, "--json"], env, tmp_path).stdout)["state"] == "cancelled"
    again = postbot(["cancel", delivery_id], env, tmp_path)
    assert again.returncode == 2 and "is cancelled" in again.stderr
    assert json.loads(postbot(["retry", delivery_id, "--json"], env, tmp_path).stdout)["state"] == "scheduled"
    shown = json.loads(postbot(["show", delivery_id, "--json"], env, tmp_path).stdout)
    assert shown["id"] == int(delivery_id) and "attempts_log" in shown
    missing = postbot(["show", "999"], env, tmp_path)
    assert missing.returncode == 2 and "no delivery with id 999" in missing.stderr


def test_resolve_marks_an_unknown_delivery_published_with_its_link(env, tmp_path):
    from datetime import datetime, timezone
    from postbot.models import State
    from postbot.store import open_store
    queued = json.loads(postbot(["queue", str(EXAMPLE), "--at", "now", "--channel", "x", "--json"],
                                env, tmp_path).stdout)
    delivery_id = queued[0]["id"]
    early = postbot(["resolve", str(delivery_id)], env, tmp_path)
    assert early.returncode == 2 and "is scheduled" in early.stderr
    store = open_store(env["POSTBOT_DATABASE_URL"])
    now = datetime.now(timezone.utc)
    [claimed] = store.claim_due(now, worker="w", lease_seconds=60)
    store.finish(claimed.id, worker="w", state=State.UNKNOWN, now=now, error="timed out after sending")
    bad = postbot(["resolve", str(delivery_id), "--url", "x.com/coach"], env, tmp_path)
    assert bad.returncode == 2 and "https://" in bad.stderr
    done = json.loads(postbot(["resolve", str(delivery_id), "--url", "https://x.com/coach/status/1", "--json"],
                              env, tmp_path).stdout)
    assert (done["state"], done["remote_url"]) == ("published", "https://x.com/coach/status/1")


def test_status_reports_channels_and_counts(env, tmp_path):
    result = postbot(["status", "--json", "--offline"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [c["name"] for c in data["channels"]] == list(PLATFORMS)
    assert data["counts"]["scheduled"] == 0 and data["unknown"] == []


def test_secrets_never_appear_in_output(env, tmp_path):
    secret = "sk-very-secret-token-123"
    env = {**env, "POSTBOT_CHANNELS": "hooks=webhook", "HOOKS_URL": f"http://127.0.0.1:9/{secret}",
           "HOOKS_SECRET": secret}
    outputs = []
    for args in (["queue", str(EXAMPLE), "--at", "now"], ["run", "--once"], ["status"], ["list"],
                 ["preview", str(EXAMPLE), "--json"], ["show", "1", "--json"]):
        result = postbot(args, env, tmp_path)
        outputs.append(result.stdout + result.stderr)
    assert all(secret not in output for output in outputs)


def test_module_entry_point_and_help(env, tmp_path):
    result = postbot(["--help"], env, tmp_path)
    assert result.returncode == 0 and "preview" in result.stdout and "queue" in result.stdout
