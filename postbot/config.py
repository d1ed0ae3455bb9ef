"""Settings from the environment (and .env, loaded by the CLI): one frozen object, secrets hidden."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from postbot.errors import ConfigError
from postbot.models import Channel, env_prefix
from postbot.platforms import GENERIC, KINDS, PLATFORMS, RENDERING_KINDS

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# Settings every channel may have; the rest are the adapter's own (documented in .env.example).
COMMON = ("SLOTS", "TEMPLATE", "UTM", "RENDER_AS", "TEASER", "CTAS")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///postbot.db"
    timezone: str = "UTC"
    templates_dir: Path | None = None
    outbox_dir: Path = Path("outbox")
    grace_seconds: int = 900
    max_attempts: int = 5
    lease_seconds: int = 120
    concurrency: int = 64
    channels: tuple[Channel, ...] = field(default_factory=tuple)
    channels_explicit: bool = False
    media_roots: tuple[Path, ...] = ()            # folders a post's local image may live in, beside its own
    fetch_allowed_networks: tuple[str, ...] = ()  # non-public addresses remote media may come from
    fetch_max_bytes: int = 20_000_000
    request_deadline_seconds: int = 60          # start to last byte of one request to a platform
    template_sandbox: bool = False              # templates are code unless sandboxed
    watch: tuple[Path, ...] = ()                  # folders of post files the daemon queues from
    llm: Any = None                               # render.rewrite.Rewriter when POSTBOT_LLM_URL is set
    alerts: tuple[str, ...] = ()                  # channels that get alerts (POSTBOT_ALERTS), not posts
    alert_digest_minutes: int = 60                # at most one alert digest per kind this often
    alert_check_hours: int = 6                    # how often the daemon checks credentials and tokens

    def fetch_policy(self):
        from postbot.remote_fetch import FetchPolicy
        return FetchPolicy(self.fetch_allowed_networks, max_bytes=self.fetch_max_bytes)

    def channel(self, name: str) -> Channel:
        found = self._by_name().get(name)
        if found is not None:
            return found
        known = ", ".join(c.name for c in self.channels)
        raise ConfigError(f"unknown channel {name!r}; POSTBOT_CHANNELS defines: {known}")

    @property
    def post_channels(self) -> tuple[Channel, ...]:
        """The channels a post goes to unless it names its own: every one but the alert channels."""
        return tuple(c for c in self.channels if c.name not in self.alerts)

    def _by_name(self) -> dict[str, Channel]:
        cache = self.__dict__.get("_channel_index")
        if cache is None:
            cache = {c.name: c for c in self.channels}
            object.__setattr__(self, "_channel_index", cache)   # frozen dataclass: a derived cache only
        return cache

    def zone(self):
        from zoneinfo import ZoneInfo
        return ZoneInfo(self.timezone)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; e.g. {name}={default}") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{name}={raw!r} must be on or off")


def system_timezone() -> str:
    """The machine's IANA zone name, from TZ or /etc/localtime; UTC when it cannot be told."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        return name
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        return Path("/etc/timezone").read_text().strip() or "UTC"
    except OSError:
        return "UTC"


def _timezone(env: Mapping[str, str]) -> str:
    configured = env.get("POSTBOT_TIMEZONE", "").strip()
    name = configured or system_timezone()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        source = f"POSTBOT_TIMEZONE={name!r}" if configured else f"the system time zone {name!r} (from TZ)"
        guess = zone_suggestion(name)
        hint = f"did you mean {guess}? " if guess else ""
        raise ConfigError(f"{source} is not an IANA time zone; {hint}set POSTBOT_TIMEZONE to a name like "
                          f"Europe/London or America/New_York (the case matters)") from None
    return name


def zone_suggestion(name: str) -> str | None:
    """The IANA zone a mistyped name most likely means: europe/london -> Europe/London, London -> Europe/London."""
    import difflib
    from zoneinfo import available_timezones
    zones = available_timezones()      # reads the zone folder: only on this error path
    by_lower = {zone.lower(): zone for zone in zones}
    wanted = name.strip().lower().replace(" ", "_")
    if wanted in by_lower:
        return by_lower[wanted]
    by_city = {zone.rsplit("/", 1)[-1].lower(): zone for zone in sorted(zones) if "/" in zone}
    if wanted in by_city:
        return by_city[wanted]
    close = difflib.get_close_matches(wanted, list(by_lower), n=1, cutoff=0.8)
    return by_lower[close[0]] if close else None


def _channel_settings(env: Mapping[str, str], name: str) -> dict[str, str]:
    prefix = env_prefix(name) + "_"
    return {key[len(prefix):]: value for key, value in env.items() if key.startswith(prefix)}


def parse_channels(env: Mapping[str, str]) -> tuple[tuple[Channel, ...], bool]:
    env = dict(env)     # each channel reads every variable; os.environ would decode them all each time
    raw = env.get("POSTBOT_CHANNELS", "").strip()
    if not raw:
        # The embedded default: a ready-to-paste outbox file per network, no credentials needed.
        return tuple(_make_channel(env, p, "outbox") for p in PLATFORMS), False
    channels, seen = [], set()
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, _, kind = item.partition("=")
        name, kind = name.strip().lower(), (kind.strip().lower() or name.strip().lower())
        if not _NAME.match(name):
            raise ConfigError(f"POSTBOT_CHANNELS: {name!r} is not a valid channel name; use lowercase "
                              f"letters, digits, '-' or '_', starting with a letter")
        if name in seen:
            raise ConfigError(f"POSTBOT_CHANNELS lists {name!r} twice; give each channel its own name")
        if kind not in KINDS:
            raise ConfigError(f"POSTBOT_CHANNELS: {item!r}: unknown platform {kind!r}; write name=platform "
                              f"with one of {', '.join(KINDS)}")
        seen.add(name)
        channels.append(_make_channel(env, name, kind))
    if not channels:
        raise ConfigError("POSTBOT_CHANNELS is set but names no channel; e.g. POSTBOT_CHANNELS=x,bluesky")
    return tuple(channels), True


def _make_channel(env: Mapping[str, str], name: str, kind: str) -> Channel:
    settings = _channel_settings(env, name)
    prefix = env_prefix(name)
    platform = kind
    if kind in RENDERING_KINDS:
        default = name if name in PLATFORMS else (GENERIC if kind != "outbox" else None)
        platform = (settings.get("RENDER_AS") or default or "").strip().lower()
        if not platform:
            raise ConfigError(f"{prefix}_RENDER_AS is not set: say which platform channel {name!r} renders as "
                              f"({', '.join(PLATFORMS)})")
        if platform not in PLATFORMS + (GENERIC,):
            raise ConfigError(f"{prefix}_RENDER_AS={platform!r} is not a platform; use one of "
                              f"{', '.join(PLATFORMS)}")
    _check_teaser_settings(settings, prefix)
    return Channel(name=name, kind=kind, platform=platform, settings=settings,
                   slots=settings.get("SLOTS") or None, template=settings.get("TEMPLATE") or None,
                   utm=_bool(env, f"{prefix}_UTM", True))


def _media_roots(env: Mapping[str, str]) -> tuple[Path, ...]:
    roots = []
    for raw in env.get("POSTBOT_MEDIA_ROOTS", "").split(os.pathsep):
        if not raw.strip():
            continue
        root = Path(raw.strip()).expanduser()
        if not root.is_dir():
            raise ConfigError(f"POSTBOT_MEDIA_ROOTS: {raw.strip()!r} is not a directory; create it or remove it "
                              f"(folders are separated by {os.pathsep!r})")
        roots.append(root.resolve())
    return tuple(roots)


def _networks(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("POSTBOT_FETCH_ALLOW_NETWORKS", "")
    if not raw.strip(" ,"):
        return ()    # the usual case: no need to import the fetcher (ipaddress) to say so
    from postbot.remote_fetch import parse_networks
    try:
        return parse_networks(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def watch_folders(raw: str, what: str) -> tuple[Path, ...]:
    """Comma-separated folders of post files; each must exist."""
    folders = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        if not Path(item).is_dir():
            raise ConfigError(f"{what}: {item!r} is not a folder; create it or fix {what}")
        folders.append(Path(item))
    return tuple(folders)


def _check_teaser_settings(settings: dict[str, str], prefix: str) -> None:
    """<NAME>_TEASER and <NAME>_CTAS are read at render time; a typo must stop the run here instead."""
    strategy = (settings.get("TEASER") or "").strip().lower()
    if strategy and strategy not in ("lead", "hook"):
        raise ConfigError(f"{prefix}_TEASER={settings['TEASER']!r} is not lead or hook; use hook (the article's "
                          f"best sentences, the default) or lead (its first lines)")
    if (settings.get("CTAS") or "").strip():
        from postbot.render.ctas import parse_cta_choice

        try:
            parse_cta_choice(settings["CTAS"])
        except ValueError as exc:
            raise ConfigError(f"{prefix}_CTAS: {exc}") from None


def _llm(env: Mapping[str, str]):
    """The optional teaser-writing model; off unless POSTBOT_LLM_URL is set."""
    url = env.get("POSTBOT_LLM_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"POSTBOT_LLM_URL={url!r} is not an http(s) URL; e.g. http://localhost:11434/v1 "
                          f"(an OpenAI-compatible chat-completions endpoint)")
    model = env.get("POSTBOT_LLM_MODEL", "").strip()
    if not model:
        raise ConfigError("POSTBOT_LLM_URL is set but POSTBOT_LLM_MODEL is not; name the model, e.g. "
                          "POSTBOT_LLM_MODEL=llama3.1")
    from postbot.render.rewrite import Rewriter

    key = env.get("POSTBOT_LLM_API_KEY", "").strip()
    return Rewriter(url, model, key, float(_int(env, "POSTBOT_LLM_TIMEOUT", 20, minimum=1)))


def _alerts(env: Mapping[str, str], channels: tuple[Channel, ...]) -> tuple[str, ...]:
    """POSTBOT_ALERTS: channels from POSTBOT_CHANNELS that get alerts (email is a channel kind too)."""
    names = [part.strip().lower() for part in env.get("POSTBOT_ALERTS", "").split(",") if part.strip()]
    known = [c.name for c in channels]
    for name in names:
        if name not in known:
            hint = (f"add it there, e.g. POSTBOT_CHANNELS=...,{name}=email with {env_prefix(name)}_SMTP_HOST, "
                    f"{env_prefix(name)}_FROM and {env_prefix(name)}_TO" if name in ("email", "mail")
                    else f"add it there (e.g. {name}=telegram) or remove it")
            raise ConfigError(f"POSTBOT_ALERTS names {name!r}, which is not a channel in POSTBOT_CHANNELS "
                              f"({', '.join(known)}); {hint}")
    return tuple(dict.fromkeys(names))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    channels, explicit = parse_channels(env)
    templates = env.get("POSTBOT_TEMPLATES", "").strip()
    if templates and not Path(templates).is_dir():
        raise ConfigError(f"POSTBOT_TEMPLATES={templates!r} is not a directory; create it or unset it")
    settings = Settings(
        watch=watch_folders(env.get("POSTBOT_WATCH", ""), "POSTBOT_WATCH"),
        database_url=env.get("POSTBOT_DATABASE_URL", "").strip() or "sqlite:///postbot.db",
        timezone=_timezone(env),
        templates_dir=Path(templates) if templates else None,
        outbox_dir=Path(env.get("OUTBOX_DIR", "").strip() or "outbox"),
        grace_seconds=_int(env, "POSTBOT_GRACE_SECONDS", 900),
        max_attempts=_int(env, "POSTBOT_MAX_ATTEMPTS", 5, minimum=1),
        lease_seconds=_int(env, "POSTBOT_LEASE_SECONDS", 120, minimum=1),
        concurrency=_int(env, "POSTBOT_CONCURRENCY", 64, minimum=1),
        channels=channels, channels_explicit=explicit,
        media_roots=_media_roots(env), fetch_allowed_networks=_networks(env),
        fetch_max_bytes=_int(env, "POSTBOT_FETCH_MAX_BYTES", 20_000_000, minimum=1),
        llm=_llm(env),
        request_deadline_seconds=_int(env, "POSTBOT_REQUEST_DEADLINE_SECONDS", 60, minimum=1),
        template_sandbox=_bool(env, "POSTBOT_TEMPLATE_SANDBOX", False),
        alerts=_alerts(env, channels),
        alert_digest_minutes=_int(env, "POSTBOT_ALERTS_DIGEST_MINUTES", 60),
        alert_check_hours=_int(env, "POSTBOT_ALERTS_CHECK_HOURS", 6, minimum=1),
    )
    # Every secret the settings hold is masked from here on, whichever face loaded them.
    from postbot.redact import remember, remember_settings
    remember_settings(settings)
    remember((key, value) for key, value in env.items() if key.startswith("POSTBOT_"))
    return settings
