"""`postbot feeds ...`, `run --once` and the daemon polling a local blog, as real child processes,
including a daemon killed with SIGKILL in the middle of queueing a poll's items."""
from __future__ import annotations

import json
import os
import signal
from collections import Counter

import pytest

from postbot.store import open_store
from tests.fakes.feeds import Blog, FeedServer, article
from tests.process import postbot, start_daemon, wait_for


@pytest.fixture
def server():
    with FeedServer(Blog(items=[article(n) for n in range(5, 0, -1)])) as running:
        yield running


def env_for(tmp_path, channels: str = "x=outbox,bluesky=outbox") -> dict[str, str]:
    return {"POSTBOT_CHANNELS": channels, "POSTBOT_TIMEZONE": "UTC", "OUTBOX_DIR": str(tmp_path / "outbox"),
            "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'postbot.db'}"}


def run_json(args, env, cwd):
    result = postbot([*args, "--json"], env, cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_add_list_check_run_status_and_remove(tmp_path, server):
    env = env_for(tmp_path)
    added = run_json(["feeds", "add", server.feed_url(), "--name", "blog", "--channel", "x",
                      "--cta", "Online Coaching https://coach.example.com/online", "--every", "30m"], env, tmp_path)
    assert added["title"] == "Dad Strength Blog" and added["items"] == 5
    assert added["first_poll"] == {"queue": ["Article 5: squats & hinges for busy dads"], "mark_seen": 4,
                                   "channels": ["x"]}
    text = postbot(["feeds", "list"], env, tmp_path)
    assert "blog" in text.stdout and "every 30m" in text.stdout and "never polled" in text.stdout

    check = run_json(["feeds", "check", "blog"], env, tmp_path)
    [preview] = check["would_queue"]
    [render] = preview["renders"]
    assert render["channel"] == "x" and "Article 5 opens" in render["text"]
    assert "https://coach.example.com/online" in " ".join(render["links"])
    assert run_json(["list"], env, tmp_path) == []                   # a dry run writes nothing

    once = postbot(["run", "--once"], env, tmp_path)
    assert once.returncode == 0, once.stderr
    assert "feed blog: 5 items, 1 new; 1 queued" in once.stdout
    [delivery] = run_json(["list"], env, tmp_path)
    assert delivery["channel"] == "x" and delivery["state"] == "scheduled"

    status = run_json(["status", "--offline"], env, tmp_path)
    [feed] = status["feeds"]
    assert feed["last_status"] == 200 and feed["items"] == {"queued": 1, "skipped": 4}
    assert "1 queued" in feed["last_result"]
    assert "feeds:" in postbot(["status", "--offline"], env, tmp_path).stdout

    again = postbot(["feeds", "check", "blog"], env, tmp_path)
    assert again.returncode == 0 and "nothing new" in again.stdout
    removed = postbot(["feeds", "remove", "blog"], env, tmp_path)
    assert removed.returncode == 0 and "removed feed blog" in removed.stdout
    assert run_json(["feeds", "list"], env, tmp_path) == []


def test_bad_feed_input_exits_2_with_the_fix_and_writes_nothing(tmp_path, server):
    env = env_for(tmp_path)
    cases = [(["feeds", "add", "example.com/feed"], "not a web address"),
             (["feeds", "add", server.url + "/missing"], "HTTP 404"),
             (["feeds", "add", server.feed_url(), "--every", "10s"], "at most once a minute"),
             (["feeds", "add", server.feed_url(), "--cta", "no link here"], "--cta 'no link here'"),
             (["feeds", "add", server.feed_url(), "--slots", "9am"], "--slots"),
             (["feeds", "check", "nosuch"], "no feed 'nosuch'")]
    for args, message in cases:
        result = postbot(args, env, tmp_path)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert run_json(["feeds", "list"], env, tmp_path) == []


def test_a_daemon_killed_mid_poll_loses_no_item_and_queues_none_twice(tmp_path):
    channels = ",".join(f"c{n}=outbox" for n in range(6))
    env = env_for(tmp_path, channels) | {f"C{n}_RENDER_AS": p for n, p in enumerate(
        ["x", "bluesky", "mastodon", "linkedin", "threads", "telegram"])}
    blog = Blog(items=[article(n) for n in range(30, 0, -1)])
    with FeedServer(blog) as server:
        assert postbot(["feeds", "add", server.feed_url(), "--name", "blog", "--first", "30"], env,
                       tmp_path).returncode == 0
        store = open_store(env["POSTBOT_DATABASE_URL"])

        def queued() -> int:
            return store.item_counts("feed:1").get("queued", 0)
        daemon = start_daemon(env, tmp_path, tmp_path / "daemon.log")
        try:
            assert wait_for(lambda: queued() >= 3, timeout=60), (tmp_path / "daemon.log").read_text()
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)
        finally:
            if daemon.poll() is None:
                daemon.kill()
        at_kill = queued()
        assert at_kill < 30, "the daemon finished before it was killed; the test proves nothing"
        assert store.item_counts("feed:1") == {"queued": at_kill, "new": 30 - at_kill}
        # The next pass (here `run --once`; the feed itself is still claimed by the dead daemon)
        # queues what was left, and nothing twice.
        once = postbot(["run", "--once"], env, tmp_path)
        assert once.returncode == 0, once.stderr
        assert store.item_counts("feed:1") == {"queued": 30}
        posts = Counter(d.post_slug for d in store.list())
        assert len(posts) == 30 and set(posts.values()) == {6}
        for channel in range(6):
            times = [d.due_at for d in store.list() if d.channel == f"c{channel}"]
            assert len(set(times)) == 30
        store.close()
