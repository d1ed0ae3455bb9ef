"""A watched folder of post files: new or changed files are queued into the next free slots.

Each file is remembered by its path and a hash of its content, so an unchanged file is never
queued twice and an edited one is queued again. Files already there when a folder is first
watched are remembered without being queued (like a feed's first poll): pointing the daemon at
an old folder does not repost it. A bad file is reported once (status, the log) and never
blocks the others.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from postbot.posts.load import MARKDOWN_SUFFIXES
from postbot.sources.intake import queue_pending

SUFFIXES = MARKDOWN_SUFFIXES + (".txt",)


def source_of(folder: Path) -> str:
    return f"folder:{folder.resolve()}"


def post_files(folder: Path) -> list[Path]:
    """Post files under `folder`, oldest change first; hidden files and folders are left alone."""
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and path.suffix.lower() in SUFFIXES and \
                not any(part.startswith((".", "_")) for part in relative.parts):
            found.append(path)
    return sorted(found, key=lambda p: (p.stat().st_mtime, str(p)))


def scan(settings, store, folder: Path, now: datetime) -> str:
    """Remember what is new in `folder` and queue it; a summary when something happened, else ''."""
    from postbot.posts import load_post

    items = []
    for path in post_files(folder):
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
        except OSError:
            continue                                    # vanished or unreadable between listing and reading
        relative = str(path.relative_to(folder))
        items.append({"guid": f"{relative}@{digest}", "link": None, "title": relative,
                      "item": {"path": str(path), "sha256": digest}})
    source = source_of(folder)
    new = store.record_items(source, items, now, first_take=0)
    intake = queue_pending(settings, store, source, now, channels=None,
                           make_post=lambda item: load_post(item.item["path"], media_roots=settings.media_roots))
    if not new and not intake.queued and not intake.failed:
        return ""
    return f"{len(new)} new file(s); {intake.summary()}"
