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
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, "***")
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.exc_info:
            record.msg, record.args = cleaned, ()
        return True
