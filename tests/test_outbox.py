"""The outbox writer: distinct deliveries never share a file, and nothing is written through a symlink."""
from __future__ import annotations

import json
import os
import sqlite3

import pytest

from tests.process import postbot


@pytest.fixture
def env(tmp_path):
    return {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "UTC",
            "OUTBOX_DIR": str(tmp_path / "outbox"), "POSTBOT_CHANNELS": "x=outbox"}


def _post(folder, name: str, title: str, body: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"---\ntitle: {title}\n---\n{body}\n", encoding="utf-8")
    return path


def test_two_posts_whose_titles_slug_alike_are_both_kept(env, tmp_path):
    # Both Japanese titles slug to the file name's stem, "post": one article used to overwrite the other.
    first = _post(tmp_path / "a", "post.md", "筋トレの基本", "最初の記事です。")
    second = _post(tmp_path / "b", "post.md", "ヨガの始め方", "二つ目の記事です。")
    for path in (first, second):
        queued = postbot(["queue", str(path), "--at", "now"], env, tmp_path)
        assert queued.returncode == 0, queued.stderr
    run = postbot(["run", "--once"], env, tmp_path)
    assert run.returncode == 0, run.stderr
    listed = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)
    assert [d["state"] for d in listed] == ["published", "published"]
    files = {d["remote_id"] for d in listed}
    assert len(files) == 2
    texts = sorted(open(f, encoding="utf-8").read() for f in files)
    assert any("最初の記事" in t for t in texts) and any("二つ目の記事" in t for t in texts)


def test_a_planted_temporary_symlink_is_replaced_not_followed(env, tmp_path):
    post = _post(tmp_path, "post.md", "Symlinks", "A body to publish.")
    queued = postbot(["queue", str(post), "--at", "now"], env, tmp_path)
    assert queued.returncode == 0, queued.stderr
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        (key,) = conn.execute("SELECT idempotency_key FROM deliveries").fetchone()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    folder = tmp_path / "outbox" / "symlinks"
    folder.mkdir(parents=True)
    # The writer's temporary names are predictable (today's and the old ones): plant a link at each.
    for name in (f"x-{key}.txt.tmp", f"x-{key}.json.tmp", "x.txt.tmp", "x.json.tmp"):
        os.symlink(victim, folder / name)
    run = postbot(["run", "--once"], env, tmp_path)
    assert run.returncode == 0, run.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n"
    (written,) = [d["remote_id"] for d in json.loads(postbot(["list", "--json"], env, tmp_path).stdout)]
    assert open(written, encoding="utf-8").read().startswith("A body to publish.")
    assert not any(p.is_symlink() for p in folder.iterdir() if key in p.name)


def test_a_symlinked_post_folder_is_refused(env, tmp_path):
    post = _post(tmp_path, "post.md", "Elsewhere", "A body to publish.")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "outbox").mkdir()
    os.symlink(elsewhere, tmp_path / "outbox" / "elsewhere")
    assert postbot(["queue", str(post), "--at", "now"], env, tmp_path).returncode == 0
    postbot(["run", "--once"], env, tmp_path)
    (delivery,) = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)
    assert delivery["state"] == "failed"
    assert "symlink" in delivery["error"]
    assert list(elsewhere.iterdir()) == []
