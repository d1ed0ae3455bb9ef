"""The outbox: each published post becomes files to post by hand (text + the exact payload).

Files are `<slug>/<channel>-<key>.txt` and `.json`, `<key>` the delivery's idempotency key:
two deliveries never share a file, even when their posts share a slug (two Japanese titles both
slug to `post`). Writing is idempotent: the key is the same on every retry
and files are replaced atomically, so a repeat after a crash rewrites the same files instead of
adding a second post. Nothing is written through a symlink: a post folder that is one is refused
and the temporary file is created with O_EXCL | O_NOFOLLOW."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from postbot.errors import Rejected
from postbot.files import replace_file
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
        base = folder / f"{self.channel.name}-{delivery_tag(ctx.key, ctx.part_count)}{suffix}"
        if folder.is_symlink():
            raise Rejected(f"the outbox folder {folder} is a symlink; postbot writes only into real folders: "
                           f"remove the link, then `postbot retry`", sent=False)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            replace_file(base.with_suffix(".txt"), ctx.part.text + "\n")
            replace_file(base.with_suffix(".json"), json.dumps(
                {"channel": self.channel.name, "platform": self.channel.platform, "key": ctx.key,
                 "due_at": ctx.due_at.isoformat() if ctx.due_at else None, "payload": payload},
                ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise Rejected(f"cannot write to the outbox {self.folder}: {exc.strerror}; fix OUTBOX_DIR") from None
        path = base.with_suffix(".txt").resolve()
        return Published(remote_id=str(path), remote_url=path.as_uri())

    async def check(self, client) -> str:
        return f"writes to {self.folder}/"


def delivery_tag(key: str, part_count: int = 1) -> str:
    """The delivery's idempotency key (a thread part's `-2` dropped) as a safe file name part."""
    import hashlib
    import re

    if part_count > 1:
        key = key.rsplit("-", 1)[0]
    return key if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key) else hashlib.sha256(key.encode()).hexdigest()[:32]


SENDER = OutboxSender
