"""Files postbot writes whole (outbox posts, calendar exports, preview pages): replaced in one rename,
never through a link."""
from __future__ import annotations

import os
from pathlib import Path

from postbot.errors import UsageError


def write_named_file(path: Path, content: str | bytes, option: str) -> None:
    """replace_file for a file the user named with `option` (--ics FILE): a missing folder or a refused
    write is a UsageError naming the option and the file, before anything is written."""
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: the folder {path.parent} does not exist; create it or name another file")
    try:
        replace_file(path, content)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write it ({exc.strerror})") from None


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
    created = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(created, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)       # a full disk or a folder at `path`: leave nothing behind
        raise
