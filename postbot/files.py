"""Files postbot writes whole (outbox posts, calendar exports): replaced in one rename, never through a link."""
from __future__ import annotations

import os
from pathlib import Path


def replace_file(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` so a reader sees the old file or the new one, never half of it.
    The temporary file is created with O_EXCL | O_NOFOLLOW (a planted link there is removed, never
    followed) and the rename replaces a link at `path` itself, not its target."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        os.unlink(temporary)        # a crash's leftover, or a planted link
    except FileNotFoundError:
        pass
    data = content.encode("utf-8") if isinstance(content, str) else content
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(temporary, flags, 0o644), "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
