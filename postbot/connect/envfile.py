"""Writing settings into the .env file: every other line kept, mode 0600, all keys or none.

python-dotenv's set_key does the line editing (quoting, replacing a key in place, keeping comments);
it runs on a private copy that replaces the file in one rename, so a failure leaves the old file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values, set_key

from postbot.errors import ConfigError


def write_settings(path: Path, values: Mapping[str, str]) -> None:
    """Set each KEY=value in `path` (created if missing), keeping every other line; the file ends 0600."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ConfigError(f"{path} is not a regular file; point --env-file at the settings file itself")
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(prefix=".env.", dir=directory)     # mkstemp creates it 0600
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as copy:
            if path.exists():
                copy.write(path.read_bytes())
        for key, value in values.items():
            set_key(temp, key, value, quote_mode="always")
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def read_settings(path: Path) -> dict[str, str]:
    """The KEY=value pairs in `path` (empty when it does not exist)."""
    path = Path(path)
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def with_channel(channels: str, name: str, kind: str) -> str:
    """POSTBOT_CHANNELS with `name` added (as `name` or `name=kind`), unchanged if it is listed already."""
    item = name if name == kind else f"{name}={kind}"
    items = [part.strip() for part in channels.split(",") if part.strip()]
    if any(part.partition("=")[0].strip().lower() == name for part in items):
        return ",".join(items)
    return ",".join(items + [item])
