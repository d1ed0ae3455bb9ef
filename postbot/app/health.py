"""Status: each channel's settings and credentials, the queue at a glance, and which daemons are alive."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Sequence

from postbot.alerts import digest
from postbot.app.channels import utcnow
from postbot.config import Settings
from postbot.models import AlertEvent, Delivery, Feed, State
from postbot.platforms import make_sender
from postbot.sources.feeds import list_feeds

if TYPE_CHECKING:  # pragma: no cover
    from postbot.platforms.base import Sender


@dataclass
class ChannelStatus:
    name: str
    kind: str
    platform: str
    ready: bool = True
    detail: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class AlertsStatus:
    channels: tuple[str, ...]                       # POSTBOT_ALERTS
    pending: list[AlertEvent]                       # noticed, waiting for their kind's next digest
    next_digest_at: datetime | None                 # when the earliest of them may go
    sending: list[Delivery]                         # digests queued, not out yet (retries included)
    failed: list[Delivery]                          # digests that failed or may not have gone out


@dataclass
class Status:
    channels: list[ChannelStatus]
    counts: dict[str, int]                          # every state, 0 included
    next_due: datetime | None
    recent_failures: list[Delivery]
    unknown: list[Delivery]                         # may or may not have been published: a human decides
    holds: dict[str, tuple[datetime, str]]          # channel -> (until, reason)
    feeds: list[tuple[Feed, dict[str, int]]] = field(default_factory=list)   # each with its item counts
    notices: list[tuple[datetime, str, str]] = field(default_factory=list)   # (at, subject, message)
    daemons: list[tuple[str, datetime, bool]] = field(default_factory=list)   # (worker, last heartbeat, alive)
    alerts: AlertsStatus | None = None                                          # with POSTBOT_ALERTS set

    @property
    def ready(self) -> bool:
        return all(channel.ready for channel in self.channels)


async def check_channels(settings: Settings, store, *, offline: bool = False,
                         senders: Sequence[Sender] | None = None) -> list[ChannelStatus]:
    """Each channel's settings, and unless offline its credentials (one cheap call each); `senders`, one
    per channel in order, when the caller has them already."""
    import asyncio

    from postbot.redact import redact

    entries: list[ChannelStatus] = []
    checks = []
    client = None
    if not offline:
        import httpx
        client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    try:
        if senders is None:
            senders = [make_sender(channel, store=store, settings=settings) for channel in settings.channels]
        for channel, sender in zip(settings.channels, senders):
            entry = ChannelStatus(channel.name, channel.kind, channel.platform)
            missing = sender.missing_settings()
            if missing:
                entry.ready, entry.detail = False, f"set {', '.join(missing)}"
            elif client is not None:
                checks.append((entry, sender.check(client)))
            entries.append(entry)
        results = await asyncio.gather(*(check for _, check in checks), return_exceptions=True)
        for (entry, _), result in zip(checks, results):
            if isinstance(result, BaseException):
                entry.ready, entry.detail = False, redact(str(result))
            else:
                entry.detail = str(result)
                entry.warnings = list(getattr(result, "warnings", []))
    finally:
        if client is not None:
            await client.aclose()
    return entries


def status(settings: Settings, store, now: datetime | None = None, *, offline: bool = False) -> Status:
    """Channels and their credentials, and the queue at a glance."""
    import asyncio

    now = now or utcnow()
    channels = asyncio.run(check_channels(settings, store, offline=offline))
    counts = store.counts()
    return Status(channels=channels, counts={s.value: counts.get(s.value, 0) for s in State},
                  next_due=store.next_run_at(now), recent_failures=store.list(State.FAILED, limit=10),
                  unknown=store.list(State.UNKNOWN, limit=100), holds=store.holds(now),
                  feeds=list_feeds(store), notices=store.notices(limit=10), daemons=daemons(settings, store, now),
                  alerts=alerts_status(settings, store, now))


def alerts_status(settings: Settings, store, now: datetime) -> AlertsStatus | None:
    """What alerts wait for a digest and which digests did not go out; None with alerts off."""
    if not settings.alerts:
        return None
    pending = store.pending_alerts()
    ready, later = digest.due(pending, store.last_alert_digests(), now,
                              timedelta(minutes=settings.alert_digest_minutes))
    return AlertsStatus(settings.alerts, pending, now if ready else later,
                        store.alert_deliveries((State.SCHEDULED, State.PUBLISHING)),
                        store.alert_deliveries((State.FAILED, State.UNKNOWN)))


def alive_within(settings: Settings) -> timedelta:
    """How recent a daemon's heartbeat must be for it to count as running: two lease renewals (a
    daemon renews every third of POSTBOT_LEASE_SECONDS) and some slack."""
    return timedelta(seconds=max(1.0, settings.lease_seconds / 3) * 2 + 5)


def daemons(settings: Settings, store, now: datetime) -> list[tuple[str, datetime, bool]]:
    """Daemons that sent a heartbeat within the last day, newest first; alive if one came within
    alive_within() and the daemon has not said it stopped."""
    from postbot.alerts.events import read_heartbeat
    from postbot.store.channels import HEARTBEATS

    recent = alive_within(settings)
    seen = []
    for worker, beat in store.state_items(HEARTBEATS).items():
        heard = read_heartbeat(beat, now, recent)
        if heard is not None and now - heard.at < timedelta(days=1):
            seen.append((worker, heard.at, heard.alive))
    return sorted(seen, key=lambda entry: entry[1], reverse=True)
