"""The outbox: each published post becomes files to post by hand (text + the exact payload).

Writing is idempotent: files are named after the delivery's key and replaced atomically,
so a repeat after a crash rewrites the same files instead of adding a second post."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from postbot.errors import Rejected
from postbot.models import Channel, Published
from postbot.platforms.base import ChannelState, PublishContext, Sender


class OutboxSender(Sender):
    kind = "outbox"
    dedupes = True
    needs_settings = True

    def __init__(self, channel: Channel, state: ChannelState | None = None, settings=None):
        super().__init__(channel, state)
        self.folder = Path(channel.setting("DIR") or (settings.outbox_dir if settings else "outbox"))

    async def publish(self, payload: dict[str, Any], ctx: PublishContext) -> Published:
        slug = ctx.post.get("slug") or "post"
        folder = self.folder / slug
        suffix = f"-{ctx.part_index + 1}" if ctx.part_count > 1 else ""
        base = folder / f"{self.channel.name}{suffix}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write(base.with_suffix(".txt"), ctx.part.get("text", "") + "\n")
            _write(base.with_suffix(".json"), json.dumps(
                {"channel": self.channel.name, "platform": self.channel.platform, "key": ctx.key,
                 "due_at": ctx.due_at.isoformat() if ctx.due_at else None, "payload": payload},
                ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise Rejected(f"cannot write to the outbox {self.folder}: {exc.strerror}; fix OUTBOX_DIR") from None
        path = base.with_suffix(".txt").resolve()
        return Published(remote_id=str(path), remote_url=path.as_uri())

    async def check(self, client) -> str:
        return f"writes to {self.folder}/"


def _write(path: Path, content: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


SENDER = OutboxSender
