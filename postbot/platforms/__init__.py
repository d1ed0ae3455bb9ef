"""The registry of platforms and channel kinds: which module holds whose Rules and Sender.
Modules are imported on first use to keep start-up fast."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from postbot.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from postbot.platforms.base import ChannelState, Rules, Sender

# Platforms whose text rules a channel can render by, in display order.
PLATFORMS = ("x", "bluesky", "mastodon", "linkedin", "facebook", "threads", "instagram",
             "telegram", "discord", "slack")
# Rules for channels that render for no particular network (webhook's and email's default).
GENERIC = "generic"
# Channel kinds without rules of their own: they render by <NAME>_RENDER_AS.
RENDERING_KINDS = ("outbox", "webhook", "email")
KINDS = PLATFORMS + RENDERING_KINDS


def _module(name: str, choices: tuple[str, ...]):
    if name not in choices:
        raise ConfigError(f"unknown platform {name!r}; choose one of {', '.join(KINDS)}")
    return importlib.import_module(f"postbot.platforms.{name}")


def rules_class(platform: str) -> type["Rules"]:
    """The Rules of a platform (what a channel renders by)."""
    return _module(platform, PLATFORMS + (GENERIC,)).RULES


def sender_class(kind: str) -> type["Sender"]:
    """The Sender of a channel kind (what publishes)."""
    return _module(kind, KINDS).SENDER


def _state(channel, store, state) -> "ChannelState":
    from postbot.platforms.base import ChannelState, MemoryState
    if state is not None:
        return state
    return ChannelState.of(store, channel.name) if store is not None else MemoryState()


def make_rules(channel, *, store=None, state=None) -> "Rules":
    """The text rules of `channel.platform`. With a store, they read its per-channel memory (instance
    limits); pass `state` to share one memory with a sender."""
    return rules_class(channel.platform)(channel, _state(channel, store, state))


def make_sender(channel, *, store=None, state=None, settings=None) -> "Sender":
    """The sender for `channel.kind`, remembering sessions and limits in the store (or in `state`)."""
    cls = sender_class(channel.kind)
    extra = {"settings": settings} if getattr(cls, "needs_settings", False) else {}
    return cls(channel, _state(channel, store, state), **extra)
