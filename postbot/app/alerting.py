"""Alerts (POSTBOT_ALERTS): notice what a person should hear about and queue it as ordinary deliveries
to the alert channels, at most one digest per kind every POSTBOT_ALERTS_DIGEST_MINUTES.

The daemon calls `tick(now)` on a wake, at most once a second unless a digest is due (deliveries
that failed or became unknown, digests that are due), `notice_crashes(now)` from its lease job
(daemons that crashed) and `check_health(now)` (credentials and tokens) when the last check, by any
process, is POSTBOT_ALERTS_CHECK_HOURS old; `run --once` calls check_health (as gated) and tick after
publishing, then publishes the digests. Everything lives in the store, so a daemon
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
from postbot.app.planning import Planned, post_batch
from postbot.config import Settings
from postbot.errors import ConfigError
from postbot.models import AlertEvent, Channel
from postbot.output import local_times_in
from postbot.platforms import make_rules, make_sender
from postbot.render import Renderer
from postbot.store.channels import HEARTBEATS

log = logging.getLogger("postbot.alerts")
# Failures are read again once they are this old: on PostgreSQL a transaction may commit after a later
# one, and machines' clocks differ, so a failure may turn up behind where a read already got to.
LOOKBACK = timedelta(minutes=10)
PAGE = 1000                                 # failures read at a time
Place = tuple[datetime, int]                # where a read of failures got to: (when one changed, its id)
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
        # Where this process's reads of failures got to: the first read, and the second LOOKBACK behind.
        self._places: tuple[Place, Place] | None = None

    # ---- on a wake (the daemon looks at most once a second) ----------------------------------------
    def tick(self, now: datetime) -> datetime | None:
        """Notice new failures and queue the digests that are due; returns when the next one may go."""
        self.notice(now)
        return self.flush(now)

    def notice(self, now: datetime) -> list[str]:
        """Record deliveries that failed or became unknown since the last look; returns the keys of
        events that were new. This process reads each change twice, page by page from where its last
        read stopped: when it is new, and once it is LOOKBACK old, when whatever was stamped before it
        has committed (keys make the second read tell nothing twice). The places are kept per process:
        every daemon reads every failure anyway, so a shared place would only add a write per look."""
        if self._places is None:
            start = (self._start(now) - LOOKBACK, 0)
            self._places = (start, start)
        fresh, settled = self._places
        new, fresh = self._read_failures(fresh, None, now)
        late, settled = self._read_failures(settled, now - LOOKBACK, now)
        self._places = (fresh, settled)
        if new or late:
            self.store.state_set(STATE, NOTICED_TO, now.isoformat())
        return new + late

    def _read_failures(self, after: Place, until: datetime | None, now: datetime) -> tuple[list[str], Place]:
        """Record the failures after `after` (up to `until`) a page at a time; the new keys and where the
        read got to."""
        new: list[str] = []
        while True:
            page = self.store.finished_badly_after(after, until=until, limit=PAGE)
            if page:
                new += self.record([delivery_event(delivery, at) for delivery, at in page], now)
                last, at = page[-1]
                after = (at, last.id)
            if len(page) < PAGE:
                return new, after

    def _start(self, now: datetime) -> datetime:
        """Where the last process stopped looking; alerts switched on for the first time start now."""
        saved = self.store.state_get(STATE, NOTICED_TO)
        if saved:
            return datetime.fromisoformat(saved)
        self.store.state_set(STATE, NOTICED_TO, now.isoformat())
        return now

    def notice_crashes(self, now: datetime) -> list[str]:
        """(A daemon, from its lease job: heartbeats change no more often.) Record daemons that stopped
        without saying so; returns the keys of events that were new."""
        if not self.worker:
            return []
        heartbeats = self.store.state_items(HEARTBEATS)
        crashes = crashed_daemons(heartbeats, self.worker, now, alive_within(self.settings), self.gone)
        new = self.record(crashes, now)
        # Recorded first, then the dead daemon's heartbeat stops saying `running`, so later looks skip it.
        for crash in crashes:
            self.store.state_set(HEARTBEATS, crash.subject, {**heartbeats[crash.subject], "running": False,
                                                             "crash_noticed_by": self.worker})
        return new

    def record(self, events: list[AlertEvent], now: datetime) -> list[str]:
        new = self.store.add_alert_events(events)
        if new:
            log.info("alerts: %d new event(s): %s", len(new), ", ".join(new))
        return new

    def stop(self, now: datetime) -> None:
        """Remember how far this process looked, so the next one does not look further back."""
        if self._places is not None:
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
        return post_batch(post, [Planned(target, render, now)], [digest.delivery_key(kind, mine, target.name)])

    # ---- every POSTBOT_ALERTS_CHECK_HOURS ---------------------------------------------------------
    def check_due(self, now: datetime) -> bool:
        """Whether the last credential check, by any process, is POSTBOT_ALERTS_CHECK_HOURS old (run --once
        and the daemon ask: cron, or every daemon started, would otherwise call every channel's API)."""
        last = self.store.state_get(STATE, CHECKED_AT)
        return last is None or now - datetime.fromisoformat(last) >= timedelta(hours=self.settings.alert_check_hours)

    async def check_health(self, now: datetime, *, offline: bool = False) -> list[str]:
        """Check every channel's credentials (as `postbot status` does, renewing tokens that are due)
        and read each token's expiry; record what failed, what expired and what expires within 7 days.
        offline: read the settings and expiries only."""
        self.store.state_set(STATE, CHECKED_AT, now.isoformat())
        senders = [make_sender(channel, store=self.store, settings=self.settings) for channel in self.settings.channels]
        statuses = await check_channels(self.settings, self.store, offline=offline, senders=senders)
        events: list[AlertEvent] = []
        for sender, status in zip(senders, statuses):
            name = sender.channel.name
            token = sender.lifetime()
            told = token_event(name, token, now, sender.token_fix()) if token else None
            if told:
                events.append(told)
            if status.ready:
                if self.store.state_get(name, FAILING_SINCE) is not None:
                    self.store.state_delete(name, FAILING_SINCE)     # the spell of failing is over
            elif not (token and token.expired(now)):        # an expired token is told once, as such
                since = datetime.fromisoformat(self.store.state_setdefault(name, FAILING_SINCE, now.isoformat()))
                detail = status.detail.removeprefix(f"channel {name}: ")
                events.append(credentials_event(name, detail, since, now))
        return self.record(events, now)
