"""A watched folder of post files: new and changed files are queued once into next slots; a bad
file is reported once and blocks nothing."""
from __future__ import annotations

import os
from datetime import timedelta

from postbot.sources.folder import scan, source_of
from tests.helpers import NOW, settings_for, sqlite_store
from tests.process import postbot

ENV = {"POSTBOT_CHANNELS": "x=outbox,bluesky=outbox", "X_SLOTS": "09:00,13:00,17:00", "BLUESKY_SLOTS": "10:00"}


def write(folder, name: str, title: str, body: str = "A first sentence. A second one follows here.",
          mtime: int = 1_700_000_000):
    path = folder / name
    path.write_text(f"---\ntitle: {title}\n---\n{body}\n", encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def test_files_there_at_first_are_remembered_then_new_and_changed_files_are_queued(tmp_path):
    folder = tmp_path / "posts"
    folder.mkdir()
    write(folder, "old.md", "Old post")
    settings = settings_for({**ENV, "OUTBOX_DIR": str(tmp_path / "out")})
    store = sqlite_store(tmp_path)
    assert scan(settings, store, folder, NOW) == ""                 # remembered, not queued
    assert store.item_counts(source_of(folder)) == {"skipped": 1}

    write(folder, "new.md", "New post", mtime=1_700_000_100)
    write(folder, "second.md", "Second post", mtime=1_700_000_200)
    (folder / ".draft.md").write_text("hidden\n")
    (folder / "notes.pdf").write_bytes(b"%PDF")
    summary = scan(settings, store, folder, NOW)
    assert summary == "2 new file(s); 2 queued"
    by_slug = {d.post_slug: d for d in store.list() if d.channel == "x"}
    assert by_slug["new-post"].due_at == NOW.replace(hour=13) and by_slug["second-post"].due_at == NOW.replace(hour=17)

    assert scan(settings, store, folder, NOW + timedelta(minutes=1)) == ""   # unchanged: nothing again
    write(folder, "old.md", "Old post", body="Rewritten. Now it says something new.", mtime=1_700_000_300)
    assert scan(settings, store, folder, NOW + timedelta(minutes=2)) == "1 new file(s); 1 queued"
    assert sorted(d.post_slug for d in store.list() if d.channel == "x") == ["new-post", "old-post", "second-post"]


def test_a_bad_file_is_reported_once_and_the_others_still_go(tmp_path):
    folder = tmp_path / "posts"
    folder.mkdir()
    settings = settings_for({**ENV, "OUTBOX_DIR": str(tmp_path / "out")})
    store = sqlite_store(tmp_path)
    scan(settings, store, folder, NOW)
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody.\n", encoding="utf-8")
    write(folder, "good.md", "Good post", mtime=1_800_000_000)
    assert scan(settings, store, folder, NOW) == "2 new file(s); 1 queued, 1 failed"
    [failed] = [i for i in store.source_items(source_of(folder)) if i.state == "failed"]
    assert "broken.md:2" in failed.detail
    [(_, subject, message)] = store.notices()                       # what `postbot status` shows
    assert subject == source_of(folder) and "broken.md was not queued" in message
    assert scan(settings, store, folder, NOW) == ""                 # reported once, not on every pass
    assert [d.post_slug for d in store.list() if d.channel == "x"] == ["good-post"]


def test_run_once_watch_queues_a_new_file(tmp_path):
    folder = tmp_path / "drafts"
    folder.mkdir()
    env = {**ENV, "POSTBOT_TIMEZONE": "UTC", "OUTBOX_DIR": str(tmp_path / "out"),
           "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'postbot.db'}"}
    first = postbot(["run", "--once", "--watch", str(folder)], env, tmp_path)
    assert first.returncode == 0, first.stderr
    write(folder, "hello.md", "Hello world")
    second = postbot(["run", "--once", "--watch", str(folder)], env, tmp_path)
    assert second.returncode == 0 and "1 new file(s); 1 queued" in second.stdout, second.stderr
    missing = postbot(["run", "--once", "--watch", str(tmp_path / "nope")], env, tmp_path)
    assert missing.returncode == 2 and "--watch" in missing.stderr and "is not a folder" in missing.stderr
