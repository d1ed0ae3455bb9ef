"""The registry of channel kinds. Modules are imported on first use to keep start-up fast."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from postbot.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from postbot.publishers.base import Publisher

# Platforms whose text rules a channel can render by, in display order.
PLATFORMS = ("x", "bluesky", "mastodon", "linkedin", "facebook", "threads", "instagram",
             "telegram", "discord", "slack")
# Rules for channels that render for no particular network (webhook's default).
GENERIC = "generic"
KINDS = PLATFORMS + ("outbox", "webhook")

_MODULES = {name: name for name in PLATFORMS}
_MODULES.update({"outbox": "outbox", "webhook": "webhook", GENERIC: "generic"})


def publisher_class(kind: str) -> type["Publisher"]:
    if kind not in _MODULES:
        raise ConfigError(f"unknown platform {kind!r}; choose one of {', '.join(KINDS)}")
    module = importlib.import_module(f"postbot.publishers.{_MODULES[kind]}")
    return module.PUBLISHER
