"""Alerts (POSTBOT_ALERTS): notice what a person should hear about and queue it as ordinary deliveries
to the alert channels, at most one digest per kind every POSTBOT_ALERTS_DIGEST_MINUTES.

The daemon calls `tick(now)` on every wake (deliveries that failed or became unknown, daemons that
crashed, digests that are due) and `check_health(now)` every POSTBOT_ALERTS_CHECK_HOURS (credentials
and tokens); `run --once` calls both after publishing (the check only when the last one, by any
process, is that old), then publishes the digests. Everything lives in the store, so a daemon
started after a crash carries on where the last one stopped, and event keys keep anything from being
told twice. The digests are published by the runner like any post: an alert channel that is down
retries on its own and holds up nothing else.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from postbot.alerts import digest
from postbot.alerts.events import credentials_event, crashed_daemons, delivery_event, token_event
from postbot.app.health import alive_within, check_channels
from postbot.config import Settings
from postbot.errors import ConfigError
from postbot.models import AlertEvent, Channel
from postbot.output import local_times_in
from postbot.platforms import make_rules, make_sender
from postbot.render import Renderer
from postbot.store.channels import HEARTBEATS

log = logging.getLogger("postbot.alerts")
# Failures are looked for a little before the last look: on PostgreSQL a transaction may commit after
# a later one, and machines' clocks differ. Keys make the overlap harmless.
LOOKBACK = timedelta(minutes=10)
STATE = "postbot:alerts"                    # channel_state name for the alerts' own memory
NOTICED_TO = "noticed_to"                   # ... where the look for failures got to
CHECKED_AT = "checked_at"                   # ... when credentials and tokens were last checked
FAILING_SINCE = "alerts:failing_since"      # per channel: when its credential check began to fail


def require_alert_channels(settings: Settings) -> None:
    """Before publishing: every alert channel must be able to send (exit 2 naming the variable)."""
    for name in settings.alerts:
        channel = settings.channel(name)
        problem = make_sender(channel, settings=settings).settings_problem()
        if problem:
            raise ConfigError(f"POSTBOT_ALERTS: channel {name} cannot send alerts: {problem}")


def alerts_for(settings: Settings, store, *, worker: str | None = None,
               gone: Callable[[str], bool] | None = None) -> "Alerts | None":
    """The alerts of a daemon (`worker`, which also looks for crashed daemons) or of `run --once`;
    None when POSTBOT_ALERTS is unset."""
    if not settings.alerts:
        return None
    require_alert_channels(settings)
    return Alerts(settings, store, worker=worker, gone=gone)


class Alerts:
    """The alerts of one process. `worker` is the daemon's id (None for `run --once`): only a daemon
    looks for daemons that crashed, and `gone(worker)` tells it a claimant's process has exited."""

    def __init__(self, settings: Settings, store, *, worker: str | None = None,
                 gone: Callable[[str], bool] | None = None):
        self.settings, self.store = settings, store
        self.worker = worker
        self.gone = gone or (lambda _worker: False)
        self.targets: list[Channel] = [settings.channel(name) for name in settings.alerts]
        self.window = timedelta(minutes=settings.alert_digest_minutes)
        # No language model for alerts: their text is written here and must go out as written.
        self.renderer = Renderer(settings.templates_dir, None, sandbox=settings.template_sandbox)
        self._since: datetime | None = None

    # ---- on every wake --------------------------------------------------------------------------
    def tick(self, now: datetime) -> datetime | None:
        """Notice new events and queue the digests that are due; returns when the next one may go."""
        self.notice(now)
        return self.flush(now)

    def notice(self, now: datetime) -> list[str]:
        """Record deliveries that failed or became unknown since the last look, and (in a daemon)
        daemons that stopped without saying so; returns the keys of events that were new."""
        since = self._since or self._start(now)
        events = [delivery_event(d, at) for d, at in self.store.finished_badly_since(since - LOOKBACK)]
        heartbeats = self.store.state_items(HEARTBEATS) if self.worker else {}
        crashes = crashed_daemons(heartbeats, self.worker or "", now, alive_within(self.settings), self.gone)
        self._since = now
        new = self.record(events + crashes, now)
        # Recorded first, then the dead daemon's heartbeat stops saying `running`, so later looks skip it.
        for crash in crashes:
            self.store.state_set(HEARTBEATS, crash.subject, {**heartbeats[crash.subject], "running": False,
                                                             "crash_noticed_by": self.worker})
        return new

    def _start(self, now: datetime) -> datetime:
        """Where the last process stopped looking; alerts switched on for the first time start now."""
        saved = self.store.state_get(STATE, NOTICED_TO)
        if saved:
            return datetime.fromisoformat(saved)
        self.store.state_set(STATE, NOTICED_TO, now.isoformat())
        return now

    def record(self, events: list[AlertEvent], now: datetime) -> list[str]:
        new = self.store.add_alert_events(events)
        if new:
            self.store.state_set(STATE, NOTICED_TO, now.isoformat())
            log.info("alerts: %d new event(s): %s", len(new), ", ".join(new))
        return new

    def stop(self, now: datetime) -> None:
        """Remember how far this process looked, so the next one does not look further back."""
        if self._since is not None:
            self.store.state_set(STATE, NOTICED_TO, now.isoformat())

    def flush(self, now: datetime) -> datetime | None:
        """Queue a digest for each kind that is due, one delivery per alert channel."""
        pending = self.store.pending_alerts()
        if not pending:
            return None
        ready, next_at = digest.due(pending, self.store.last_alert_digests(), now, self.window)
        for kind, events in ready.items():
            posts = [post for post in (self._digest_post(kind, events, target, now) for target in self.targets) if post]
            queued = self.store.add_alert_digest(kind, [e.key for e in events], posts, now)
            if queued is None:
                continue            # another daemon sent these
            told = ", ".join(d.channel for d in queued) or "no channel (each event is about the alert channel itself)"
            log.info("alerts: %s digest of %d event(s) queued for %s", kind, len(events), told)
        return next_at

    def _digest_post(self, kind: str, events: list[AlertEvent], target: Channel, now: datetime) -> dict | None:
        """One alert channel's digest as add_posts stores it: rendered by the channel's own template and rules."""
        mine = digest.for_target(events, target.name)
        if not mine:
            return None
        post = digest.compose(kind, mine, lambda text: local_times_in(text, self.settings))
        try:
            render = self.renderer.render(post, target, make_rules(target, store=self.store))
        except Exception as exc:  # noqa: BLE001 - a user's template (StrictUndefined) or a rule refusing
            # Told in `status`; the other alert channels still get theirs.
            log.error("alerts: cannot render the %s digest for %s: %s", kind, target.name, exc)
            self.store.add_notice(f"alerts to {target.name}", f"a {kind} alert could not be rendered: {exc}", now)
            return None
        return {"slug": post.slug, "title": post.title, "source": post.source, "snapshot": post.to_dict(),
                "deliveries": [{"channel": target.name, "platform": render.platform, "due_at": now,
                                "parts": render.parts, "idempotency_key": digest.delivery_key(kind, mine, target.name)}]}

    # ---- every POSTBOT_ALERTS_CHECK_HOURS ---------------------------------------------------------
    def check_due(self, now: datetime) -> bool:
        """Whether the last credential check, by any process, is POSTBOT_ALERTS_CHECK_HOURS old (run --once
        asks: cron would otherwise check every channel on every run)."""
        last = self.store.state_get(STATE, CHECKED_AT)
        return last is None or now - datetime.fromisoformat(last) >= timedelta(hours=self.settings.alert_check_hours)

    async def check_health(self, now: datetime, *, offline: bool = False) -> list[str]:
        """Check every channel's credentials (as `postbot status` does, renewing tokens that are due)
        and read each token's expiry; record what failed, what expired and what expires within 7 days.
        offline: read the settings and expiries only."""
        self.store.state_set(STATE, CHECKED_AT, now.isoformat())
        statuses = await check_channels(self.settings, self.store, offline=offline)
        events: list[AlertEvent] = []
        for channel, status in zip(self.settings.channels, statuses):
            sender = make_sender(channel, store=self.store, settings=self.settings)
            # Senders whose tokens expire keep them in a lifetime.KeptToken (Meta, LinkedIn).
            life = sender.lifetime() if callable(getattr(sender, "lifetime", None)) else None
            expires = life.expires_at() if life else None
            token = token_event(channel.name, expires, now, _token_fix(sender))
            if token:
                events.append(token)
            if status.ready:
                if self.store.state_get(channel.name, FAILING_SINCE) is not None:
                    self.store.state_delete(channel.name, FAILING_SINCE)     # the spell of failing is over
            elif expires is None or expires > now:      # an expired token is told once, as such
                since = datetime.fromisoformat(self.store.state_setdefault(channel.name, FAILING_SINCE,
                                                                           now.isoformat()))
                detail = status.detail.removeprefix(f"channel {channel.name}: ")
                events.append(credentials_event(channel.name, detail, since, now))
        return self.record(events, now)


def _token_fix(sender) -> str:
    """How to get a new token, in the sender's own words where it has them (Meta, LinkedIn)."""
    for name in ("reconnect_fix", "token_fix"):
        fix = getattr(sender, name, None)
        if callable(fix):
            return fix()
    return ""
