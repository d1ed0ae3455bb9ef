"""The post file being read: errors and warnings at its lines, and helpers every format uses."""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from postbot.errors import PostError

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class PostSource:
    """One post file: its lines, where problems are, and the warnings found so far."""

    def __init__(self, path: Path, where: str, text: str, warnings: list[str], media_roots: tuple[Path, ...] = ()):
        self.path, self.where, self.text, self.warnings = path, where, text, warnings
        self.media_roots = media_roots        # folders a local image may be in, beside the post's own
        self.lines = text.split("\n")
        self.lines_of: Any = None       # front matter line numbers, once read

    def fail(self, message: str, line: int | None = None) -> PostError:
        return PostError(message, self.where, line)

    def warn(self, message: str, line: int | None = None) -> None:
        self.warnings.append(f"{self.where}:{line}: {message}" if line else f"{self.where}: {message}")

    def line_of(self, *steps: str | int) -> int | None:
        return self.lines_of.of(*steps) if self.lines_of else None


def describe(value: Any) -> str:
    """How a value reads in a message: "a list", "the number 3", "true (a yes/no value)"."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, (date, datetime)):
        return f"the date {value.isoformat()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def is_web_url(value: str) -> bool:
    if re.search(r"\s", value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:               # "http://[abc": not a URL anyone can open
        return False


def parse_date(raw: str) -> date | None:
    """DD/MM/YYYY or YYYY-MM-DD; None for anything else."""
    raw = raw.strip()
    match = _DMY.match(raw)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)        # ValueError for 31/02: the caller says how to fix it
    if re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
        return date.fromisoformat(raw)
    return None
