"""Secrets never leave the process in clear: every line postbot prints passes through here."""
from __future__ import annotations

import logging
import re
from typing import Iterable

_SECRET_KEY = re.compile(r"(TOKEN|SECRET|PASSWORD|KEY|WEBHOOK_URL)$")
_values: set[str] = set()


def remember(settings_items: Iterable[tuple[str, str]]) -> None:
    for key, value in settings_items:
        if _SECRET_KEY.search(key) and value and len(value) >= 4:
            _values.add(value)


def remember_settings(settings) -> None:
    for channel in settings.channels:
        remember(channel.settings.items())
    if "@" in settings.database_url and ":" in settings.database_url.split("@")[0].split("//")[-1]:
        password = settings.database_url.split("@")[0].split("//")[-1].split(":", 1)[1]
        if password:
            _values.add(password)


def redact(text: str) -> str:
    if _index.size != len(_values):     # values are only ever added
        _index.rebuild()
    candidates = _index.longest_first
    if len(text) < 2 * len(candidates):
        # Only values whose first chars occur in the text can be in it: with a secret per channel and
        # a thousand channels, looking for each one in every log line was most of a line's cost.
        heads = _index.heads
        found = {value for i in range(len(text) - HEAD + 1) for value in heads.get(text[i:i + HEAD], ())}
        candidates = sorted(found | _index.starred, key=_longest_first)
    for value in candidates:            # the longest first
        if value in text:
            text = text.replace(value, "***")
    return text


HEAD = 4        # remember() keeps values of at least this many chars


def _longest_first(value: str) -> tuple[int, str]:
    return -len(value), value       # a secret that contains another is replaced whole


class _Index:
    """_values by their first HEAD chars, rebuilt when a value is added."""

    def __init__(self) -> None:
        self.size = 0
        self.longest_first: list[str] = []
        self.heads: dict[str, list[str]] = {}
        self.starred: set[str] = set()      # values with a '*' may appear only once another was replaced

    def rebuild(self) -> None:
        self.longest_first = sorted(_values, key=_longest_first)
        self.heads, self.starred = {}, set()
        for value in _values:
            self.heads.setdefault(value[:HEAD], []).append(value)
            if "*" in value or len(value) < HEAD:
                self.starred.add(value)
        self.size = len(_values)


_index = _Index()


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.exc_info:
            record.msg, record.args = cleaned, ()
        return True
