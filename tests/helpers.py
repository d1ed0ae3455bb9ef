"""Small builders shared by tests: settings from a dict, a migrated store, a post file."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from postbot.config import load_settings
from postbot.store import open_store

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def settings_for(env: dict[str, str]):
    base = {"POSTBOT_TIMEZONE": "UTC"}
    base.update(env)
    return load_settings(base)


def sqlite_store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'postbot.db'}")
    store.migrate()
    return store


def write_post(tmp_path: Path, body: str = "A first sentence. A second one follows here.", **front) -> Path:
    lines = ["---"]
    import json
    for key, value in front.items():
        lines.append(f"{key}: {json.dumps(value)}")
    lines.append("---")
    path = tmp_path / "post.md"
    path.write_text("\n".join(lines) + "\n" + body + "\n" if front else body + "\n", encoding="utf-8")
    return path


class Clock:
    """A hand-moved clock for the runner."""

    def __init__(self, start: datetime = NOW):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        from datetime import timedelta
        self.now += timedelta(**delta)
        return self.now
