"""Which channels an action is for, each with its text rules and limits, and the store they live in."""
from __future__ import annotations

from datetime import datetime, timezone

from postbot.config import Settings
from postbot.models import Channel, Post
from postbot.platforms import make_rules, make_sender
from postbot.platforms.base import Rules, Sender

UTC = timezone.utc


def utcnow() -> datetime:
    return datetime.now(UTC)


def open_store(settings: Settings, *, create: bool = True):
    """The configured store, migrated to the current schema. create=False for actions that only
    look (or may still fail): a SQLite file that does not exist yet is not created and reads as empty."""
    from postbot.store import open_store as open_url

    store = open_url(settings.database_url, create=create)
    store.migrate()
    return store


def select_channels(settings: Settings, names: list[str] | None, post: Post | None = None) -> list[Channel]:
    """The channels asked for by name, else the post's `channels:`, else every configured one except
    the alert channels (POSTBOT_ALERTS), which get posts only when named. A name may be a comma list
    (`--channel x,bluesky`), as POSTBOT_CHANNELS is written."""
    names = [name.strip() for given in names or () for name in given.split(",") if name.strip()]
    if names:
        return [settings.channel(name) for name in dict.fromkeys(names)]
    if not (post and post.channels):
        return list(settings.post_channels)
    known = {c.name for c in settings.channels}
    unknown = [name for name in post.channels if name not in known]
    if unknown:
        from postbot.errors import PostError
        raise PostError(f"'channels' names {', '.join(map(repr, unknown))}, which is not a configured channel "
                        f"(configured: {', '.join(sorted(known))}); remove it or add it to POSTBOT_CHANNELS",
                        post.source, post.lines.get("channels"))
    return [settings.channel(name) for name in dict.fromkeys(post.channels)]


def channel_rules(channels: list[Channel], store) -> tuple[dict[str, Rules], list[str]]:
    """Each channel's text rules with its state in the store, and warnings about limits.

    Platforms whose limits differ per instance (Mastodon) are asked first, for channels that
    really publish there (their sender writes what it reads into the memory the rules read);
    a failure keeps what the store already knows, with a warning.
    """
    rules = {channel.name: make_rules(channel, store=store) for channel in channels}
    senders = [make_sender(c, state=rules[c.name].state) for c in channels if c.kind == c.platform]
    wanted = [s for s in senders if type(s).load_limits is not Sender.load_limits and not s.missing_settings()]
    if not wanted:
        return rules, []
    import asyncio

    import httpx

    async def fetch() -> list[str]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=3.0)) as client:
            results = await asyncio.gather(*(s.load_limits(client) for s in wanted), return_exceptions=True)
        warnings = []
        for sender, result in zip(wanted, results):
            name = sender.channel.name
            if isinstance(result, BaseException):
                warnings.append(f"channel {name}: could not read its limits ({result}); "
                                f"using {rules[name].limit_for()}")
            else:
                warnings.extend(f"channel {name}: {w}" for w in result)
        return warnings
    return rules, asyncio.run(fetch())
