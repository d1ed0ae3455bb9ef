"""`connect`: a platform's guided set-up, verified, then written to the env file."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from postbot.errors import ConfigError
from postbot.models import Channel


@dataclass
class ConnectResult:
    channel: str
    platform: str
    who: str                             # the account as the platform named it
    written: list[str]                   # variables set in the env file (names only, never values)
    env_file: Path
    notes: list[str] = field(default_factory=list)


def connect(platform: str, name: str | None, *, env_file: Path, environ, term,
            timeout: float = 30.0) -> ConnectResult:
    """Run the guided set-up for `platform`, verify the credential with the platform, then write the
    channel's settings and its POSTBOT_CHANNELS entry into `env_file` (0600, other lines kept).
    Nothing is written unless verification passed. `environ` is the real environment (it wins over
    the file, as everywhere in postbot)."""
    import asyncio

    import httpx

    from postbot.config import _NAME, _channel_settings
    from postbot.connect import flow_for
    from postbot.connect.envfile import read_settings, with_channel, write_settings

    platform = platform.strip().lower()
    name = (name or platform).strip().lower()
    if not _NAME.match(name):
        raise ConfigError(f"--name {name!r} is not a valid channel name; use lowercase letters, digits, '-' or '_', "
                          f"starting with a letter")
    flow = flow_for(platform)
    in_file = read_settings(env_file)
    merged = {**in_file, **environ}
    listed = {part.partition("=")[0].strip().lower(): (part.partition("=")[2].strip().lower()
                                                       or part.partition("=")[0].strip().lower())
              for part in merged.get("POSTBOT_CHANNELS", "").split(",") if part.strip()}
    if listed.get(name, platform) != platform:
        raise ConfigError(f"channel {name!r} is already a {listed[name]} channel in POSTBOT_CHANNELS; "
                          f"pick another with --name")
    channel = Channel(name=name, kind=platform, platform=platform, settings=_channel_settings(merged, name))

    async def run():
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0)) as client:
            return await flow(term, channel, client)

    connected = asyncio.run(run())
    updates = {channel.var(key): value for key, value in connected.settings.items()}
    base = in_file["POSTBOT_CHANNELS"] if "POSTBOT_CHANNELS" in in_file else environ.get("POSTBOT_CHANNELS", "")
    updates["POSTBOT_CHANNELS"] = with_channel(base, name, platform)
    write_settings(env_file, updates)
    notes = list(connected.notes)
    shadowed = [var for var in updates if var in environ and environ[var] != updates[var] and var != "POSTBOT_CHANNELS"]
    if shadowed:
        notes.append(f"your environment also sets {', '.join(shadowed)}, which wins over {env_file}; unset it")
    if "POSTBOT_CHANNELS" in environ and name not in listed:
        notes.append(f"your environment's POSTBOT_CHANNELS wins over {env_file}: add {name!r} to it")
    return ConnectResult(name, platform, connected.who, sorted(updates), Path(env_file), notes)
