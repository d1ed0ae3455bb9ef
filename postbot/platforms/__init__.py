"""The registry of channel kinds. Modules are imported on first use to keep start-up fast."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from postbot.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from postbot.platforms.base import Publisher

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
    module = importlib.import_module(f"postbot.platforms.{_MODULES[kind]}")
    return module.PUBLISHER


def make_publisher(channel, *, rules: bool = False, store=None, settings=None) -> "Publisher":
    """The one way to build a publisher: the sender for `channel.kind`, or with rules=True the text
    rules of `channel.platform` (they differ for outbox and webhook channels). With a store, its
    per-channel memory (sessions, instance limits, a broken webhook) is the store's."""
    from postbot.platforms.base import ChannelState, MemoryState
    cls = publisher_class(channel.platform if rules else channel.kind)
    state = ChannelState.of(store, channel.name) if store is not None else MemoryState()
    extra = {"settings": settings} if getattr(cls, "needs_settings", False) else {}
    return cls(channel, state, **extra)
