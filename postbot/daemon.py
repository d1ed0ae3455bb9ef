"""The daemon: APScheduler is only the clock; the store is the truth.

One date job stays armed for the next due time (looked at again after every claim and
whenever another process changes the database, re-armed only to fire sooner; while due work
waits for a free slot, a delivery finishing here wakes the loop instead); a cheap watch job
notices those changes; a lease job keeps in-flight claims alive and says, in a heartbeat, that this
daemon runs (and, once it stopped cleanly, that it stopped: a daemon that finds a
heartbeat still saying `running` from a dead one knows it crashed). With alerts on,
a wake (at most once a second) also lets them notice what failed, the lease job looks for daemons that
crashed, and a slow job checks credentials.
Nothing is pickled into APScheduler's job store."""
from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import contextmanager
from datetime import timedelta, timezone
from typing import Iterator

from postbot.errors import StoreError
from postbot.runner import Runner
from postbot.store.channels import HEARTBEATS

log = logging.getLogger("postbot.daemon")
UTC = timezone.utc
SAFETY_TICK = timedelta(seconds=30)
STORE_RETRY = timedelta(seconds=5)
# Work that was due at the last claim but not taken (every slot in use, or its channel busy) is
# started when a delivery here finishes (on_done) or another process changes the queue (watch);
# this is only the fallback look, so a wait for a slot does not spin the loop.
WAITING_LOOK = timedelta(seconds=1)
# Every finished delivery wakes the loop; alerts look for new failures at most this often (like the
# runner's RECLAIM_EVERY), and at once when a digest is due. A look skipped arms a wake for later.
ALERTS_EVERY = timedelta(seconds=1)
# How often the daemon asks whether the credential check is due: it runs every
# POSTBOT_ALERTS_CHECK_HOURS counted from the last one by any process, so a daemon started an hour after
# another one checked does not check again, nor wait a whole period more.
HEALTH_LOOK = timedelta(minutes=10)


@contextmanager
def side_job(what: str) -> Iterator[None]:
    """Feeds, folders and alerts must not stop publishing: a store that is away or a bug in them is
    logged, and the job runs again on its next turn."""
    try:
        yield
    except StoreError as exc:
        log.error("%s: store unavailable, trying again next time: %s", what, exc)
    except Exception:
        log.exception("%s failed; publishing goes on", what)


class Daemon:
    def __init__(self, runner: Runner, store, *, watch_seconds: float = 1.0, sources=None, alerts=None):
        self.runner, self.store = runner, store
        self.sources = sources                  # postbot.sources.Sources: feeds and watched folders
        self.alerts = alerts                    # postbot.app.alerting.Alerts, when POSTBOT_ALERTS is set
        self._alerts_next = None                # when the next alert digest may go
        self._alerts_at = None                  # when alerts last looked (None: look on the next wake)
        self._alerts_skipped = False            # a wake came too soon after that look
        self.watch_seconds = watch_seconds
        self.wake = asyncio.Event()
        self.stop_requested = False
        self._change_token = None
        self._armed = None                      # when the pending wake job fires (None: none pending)

    def request_stop(self) -> None:
        log.info("stopping: no new claims; finishing %d in flight", self.runner.in_flight)
        self.stop_requested = True
        self.runner.stopping = True
        self.wake.set()

    async def _wake(self) -> None:
        # A coroutine, so APScheduler runs it on the event loop: asyncio.Event is not thread-safe.
        self._armed = None
        self.wake.set()

    async def _watch(self) -> None:
        try:
            token = self.store.change_token()
        except StoreError:
            return
        if token != self._change_token:
            self._change_token = token
            self.wake.set()

    def _arm(self, scheduler, claimed_at) -> None:
        """Keep one wake armed for the earliest of the next due delivery, the next alert digest and a
        safety look. claimed_at: the time the last claim ran at."""
        now = self.runner.clock()
        moments = [now + SAFETY_TICK]
        if self._alerts_next is not None:
            moments.append(max(self._alerts_next, now))
        if self._alerts_skipped:
            moments.append(max(self._alerts_at + ALERTS_EVERY, now))
        # With every slot in use nothing can start before a delivery here finishes, and that wakes
        # us (on_done): when the next one is due can wait until then.
        if self.runner.slots_free > 0:
            upcoming = self.store.next_run_at(now)
            if upcoming is not None:
                # Due by the claim and still there: it waits for a slot or its channel, not for the clock.
                moments.append(now + WAITING_LOOK if upcoming <= claimed_at else max(upcoming, now))
        target = min(moments)
        if self._armed is not None and now < self._armed <= target:
            return          # the pending wake comes first anyway: re-arming would only cost
        self._set_wake(scheduler, target)

    def _set_wake(self, scheduler, when) -> None:
        self._armed = when
        scheduler.add_job(self._wake, "date", run_date=when, id="wake", replace_existing=True,
                          misfire_grace_time=None, coalesce=True, max_instances=1)

    async def serve(self, *, own_signals: bool = True) -> None:
        """Publish until stopped: by SIGTERM/SIGINT, or (own_signals=False, beside the dashboard, whose
        server owns the signals) by request_stop()."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT) if own_signals else ():
            loop.add_signal_handler(sig, self.request_stop)
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.start()
        scheduler.add_job(self._watch, "interval", seconds=self.watch_seconds, id="watch",
                          coalesce=True, max_instances=1)
        if self.sources is not None:
            from postbot.sources import SOURCES_TICK
            scheduler.add_job(self._poll_sources, "interval", seconds=SOURCES_TICK.total_seconds(), id="sources",
                              coalesce=True, max_instances=1, next_run_time=self.runner.clock())
        lease_every = max(1.0, self.runner.settings.lease_seconds / 3)
        scheduler.add_job(self._renew, "interval", seconds=lease_every, id="lease", coalesce=True, max_instances=1)
        if self.alerts is not None:
            scheduler.add_job(self._check_health, "interval", seconds=HEALTH_LOOK.total_seconds(), id="health",
                              coalesce=True, max_instances=1, next_run_time=self.runner.clock())
        self.runner.on_done = self.wake.set
        self._heartbeat()
        self._notice_crashes()
        self._change_token = self.store.change_token()
        log.info("daemon %s started", self.runner.worker)
        try:
            while not self.stop_requested:
                self.wake.clear()
                try:
                    self._tick_alerts()
                    claimed_at = self.runner.clock()
                    self.runner.launch_due(claimed_at)
                    self._arm(scheduler, claimed_at)
                except StoreError as exc:
                    # The database is away (restart, network): keep what is in flight, try again soon.
                    log.error("store unavailable, retrying in %ss: %s", STORE_RETRY.seconds, exc)
                    self._set_wake(scheduler, self.runner.clock() + STORE_RETRY)
                await self.wake.wait()
            await self.runner.drain()
            self._stopped_cleanly()
        finally:
            scheduler.shutdown(wait=False)
            await self.runner.close()
            if self.sources is not None:
                self.sources.close()
        log.info("daemon stopped")

    async def _poll_sources(self) -> None:
        # Polling and rendering block, so they run on a worker thread; the loop keeps publishing.
        if self.stop_requested:
            return
        with side_job("sources: poll"):
            for line in await asyncio.to_thread(self.sources.tick, self.runner.clock()):
                log.info("%s", line)
        self.wake.set()

    async def _renew(self) -> None:
        self.runner.renew_leases()
        self._heartbeat()
        self._notice_crashes()

    def _heartbeat(self, running: bool = True) -> None:
        """Say, in the store every face reads, that this daemon is alive (status, the dashboard), or
        that it stopped cleanly (running=False)."""
        try:
            self.store.state_set(HEARTBEATS, self.runner.worker,
                                 {"at": self.runner.clock().isoformat(), "in_flight": self.runner.in_flight,
                                  "running": running})
        except StoreError as exc:
            log.error("heartbeat: store unavailable: %s", exc)

    def _stopped_cleanly(self) -> None:
        self._heartbeat(running=False)
        if self.alerts is not None:
            try:
                self.alerts.stop(self.runner.clock())
            except StoreError as exc:
                log.error("alerts: store unavailable: %s", exc)

    def _tick_alerts(self) -> None:
        """Let alerts notice what failed and queue due digests, before claiming (so a digest goes out
        on this very pass). Nothing in them may stop publishing: if the store is away, claiming says so."""
        if self.alerts is None:
            return
        now = self.runner.clock()
        digest_due = self._alerts_next is not None and now >= self._alerts_next
        if (not digest_due and self._alerts_at is not None
                and timedelta(0) <= now - self._alerts_at < ALERTS_EVERY):
            self._alerts_skipped = True
            return
        self._alerts_at, self._alerts_skipped = now, False
        with side_job("alerts: tick"):
            self._alerts_next = self.alerts.tick(now)

    def _notice_crashes(self) -> None:
        """At start and with each heartbeat: daemons that stopped without saying so (told on the next wake)."""
        if self.alerts is None:
            return
        with side_job("alerts: the look for crashed daemons"):
            if self.alerts.notice_crashes(self.runner.clock()):
                self._alerts_look_now()

    async def _check_health(self) -> None:
        """Check credentials and tokens, unless any process (another daemon, `run --once`) did within
        POSTBOT_ALERTS_CHECK_HOURS: every check calls every channel's API."""
        if self.stop_requested:
            return
        with side_job("alerts: credential check"):
            now = self.runner.clock()
            if self.alerts.check_due(now) and await self.alerts.check_health(now):
                self._alerts_look_now()
        self.wake.set()

    def _alerts_look_now(self) -> None:
        """New events to tell: the next wake lets alerts look (and queue the digest), however soon."""
        self._alerts_at, self._alerts_skipped = None, False
        self.wake.set()
