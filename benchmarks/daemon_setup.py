"""A store full of webhook deliveries and the real daemon (`python -m postbot run`) serving it."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import REPO, python_env

UTC = timezone.utc


def channel_env(channels: int, base_url: str) -> dict[str, str]:
    """POSTBOT_CHANNELS with `channels` webhook channels, each with its own URL path and secret."""
    env = {"POSTBOT_CHANNELS": ",".join(f"c{i}=webhook" for i in range(channels))}
    for i in range(channels):
        env[f"C{i}_URL"] = f"{base_url}/c{i}"
        env[f"C{i}_SECRET"] = f"bench-secret-{i}"
    return env


def fill_store(db: Path | str, channels: int, per_channel: int, due: datetime) -> float:
    """`per_channel` posts, each queued to every channel with add_post (what `postbot queue` does).
    db: a SQLite file, or a store URL (PostgreSQL). Returns the seconds it took."""
    import time

    from postbot.config import load_settings
    from postbot.posts import load_post
    from postbot.render import Renderer
    from postbot.store import open_store

    settings = load_settings({"POSTBOT_TIMEZONE": "UTC", "POSTBOT_CHANNELS": "c0=webhook"})
    post = load_post(REPO / "posts" / "hip-thrust-alternatives.md")
    render = Renderer().render(post, settings.channels[0])
    parts = render.parts
    store = open_store(store_url(db))
    store.migrate()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for index in range(per_channel):
        slug = f"p{index}"
        store.add_post(slug=slug, title=post.title, source=post.source,
                       snapshot={"slug": slug, "title": post.title, "url": post.url}, now=now,
                       deliveries=[{"channel": f"c{c}", "platform": "generic", "due_at": due, "parts": parts,
                                    "idempotency_key": f"fan-p{index}-c{c}"} for c in range(channels)])
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def store_url(db: Path | str) -> str:
    return f"sqlite:///{db}" if isinstance(db, Path) else db


def set_due(db: Path | str, due: datetime) -> None:
    """Move every delivery to one due time (after the slow fill, just before the daemon starts)."""
    from postbot.store import open_store
    due_ms = int(due.timestamp() * 1000)
    store = open_store(store_url(db))
    with store.transaction() as cur:
        store.execute(cur, "UPDATE deliveries SET due_at = ?, run_at = ?", (due_ms, due_ms))
    store.close()


def start_daemon(db: Path | str, channels: int, base_url: str, log_path: Path,
                 extra: dict[str, str] | None = None) -> subprocess.Popen:
    env = python_env({"POSTBOT_DATABASE_URL": store_url(db), "POSTBOT_TIMEZONE": "UTC",
                      **channel_env(channels, base_url), **(extra or {})})
    log = open(log_path, "wb")
    # cwd is the log's scratch folder: no developer .env is picked up.
    return subprocess.Popen([sys.executable, "-m", "postbot", "run"], cwd=log_path.parent, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
