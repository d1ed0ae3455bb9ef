"""`postbot connect PLATFORM`: guided set-ups that end with a verified credential.

Each flow asks for what the platform needs, says exactly where to find it, and verifies it with the
platform's own Sender (its `check`, the same call `postbot status` makes) before anything is written.
A flow returns the channel's settings; postbot.app writes them to .env.

Flows by family: tokens.py (a token, password or webhook URL: Bluesky, Telegram, Discord, Slack),
mastodon.py (app registration and OAuth with PKCE), x.py (OAuth 1.0a PIN, or OAuth 2.0 with PKCE),
linkedin.py (OAuth code, the author picked) and meta.py (Facebook Pages, Instagram, Threads: OAuth code,
long-lived token, the Page or account picked); the browser part is oauth.py's, shared by all.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable

from postbot.errors import ConfigError
from postbot.models import Channel

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from postbot.connect.terminal import Terminal

# platform -> module holding its flow (a `connect_<platform>` coroutine)
FLOWS = {"bluesky": "tokens", "telegram": "tokens", "discord": "tokens", "slack": "tokens",
         "mastodon": "mastodon", "x": "x", "linkedin": "linkedin",
         "facebook": "meta", "instagram": "meta", "threads": "meta"}
ATTEMPTS = 3          # a mistyped secret is asked for again this many times in all


@dataclass
class Connected:
    """What a flow verified: the channel's settings (without the NAME_ prefix) and who it is."""

    settings: dict[str, str]
    who: str
    notes: list[str] = field(default_factory=list)


Flow = Callable[["Terminal", Channel, "httpx.AsyncClient"], Awaitable[Connected]]


def flow_for(platform: str) -> Flow:
    module = FLOWS.get(platform)
    if module is None:
        raise ConfigError(f"postbot connect does not know {platform!r} yet; it can connect "
                          f"{', '.join(FLOWS)} (for the others set the variables in .env.example by hand)")
    return getattr(importlib.import_module(f"postbot.connect.{module}"), f"connect_{platform}")


def candidate(channel: Channel, **settings: str) -> Channel:
    """The channel as it would be with these settings on top of the ones it has."""
    merged = {**channel.settings, **{key: value for key, value in settings.items() if value is not None}}
    return Channel(name=channel.name, kind=channel.kind, platform=channel.platform, settings=merged)


async def attempts(term: "Terminal", verify: Callable[[], Awaitable[Connected]]) -> Connected:
    """Run `verify` (which asks and checks) until it passes, saying each failure and its fix."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await verify()
        except ConfigError as exc:
            if attempt == ATTEMPTS or str(exc).startswith("input ended"):
                raise
            term.say(f"That did not work: {exc}")
            term.say("Try again.")
    raise AssertionError("unreachable")
