"""Publishing: what is due, one pass of the daemon's own path (`run --once`), and the daemon itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from postbot.app.channels import utcnow
from postbot.config import Settings
from postbot.models import Delivery, State


@dataclass
class Due:
    deliveries: list[Delivery]          # due now, in due order
    next_at: datetime | None            # when something is next due, if nothing is now


def due_now(store, now: datetime | None = None) -> Due:
    """What `run --once` would send now, changing nothing (`run --dry-run`)."""
    now = now or utcnow()
    due = [d for d in store.list(State.SCHEDULED) if (d.next_attempt_at or d.due_at) <= now]
    return Due(due, None if due else store.next_run_at(now))


# `run --once` exit codes, for cron and systemd (README "Exit codes").
EXIT_PUBLISHED = 0      # everything due was published, or nothing was due
EXIT_NEEDS_YOU = 1      # a delivery failed or became unknown: see `postbot status`
EXIT_RETRYING = 75      # nothing lost, but a delivery waits for a retry or a rate limit (EX_TEMPFAIL)


@dataclass
class RunOnce:
    published: int
    counts: dict[str, int]              # the queue afterwards, per state
    sources: list[str] = field(default_factory=list)    # what polling feeds and watched folders did
    outcomes: dict[str, int] = field(default_factory=dict)   # this run: published, retry, rate_limited, failed, unknown

    @property
    def exit_code(self) -> int:
        if self.outcomes.get("failed") or self.outcomes.get("unknown"):
            return EXIT_NEEDS_YOU
        if self.outcomes.get("retry") or self.outcomes.get("rate_limited"):
            return EXIT_RETRYING
        return EXIT_PUBLISHED


def run_once(settings: Settings, store, *, watch: list[Path] | tuple[Path, ...] = (),
             clock: Callable[[], datetime] = utcnow) -> RunOnce:
    """Poll due feeds and watched folders, then publish everything due now through the daemon's
    own path (cron, tests: `clock` is the time). Each retry and failure is logged as it happens; the
    result says what became of every delivery."""
    import asyncio

    from postbot.app.alerting import alerts_for
    from postbot.runner import Runner
    from postbot.sources import Sources

    alerts = alerts_for(settings, store)
    sources = Sources(settings, store, watch=list(watch))
    try:
        polled = sources.tick(clock())
    finally:
        sources.close()
    runner = Runner(store, settings, clock=clock)

    async def once() -> None:
        try:
            await runner.run_once()
            if alerts is not None:
                # What just failed is told now (digests that are due go out on a second pass); the
                # rest waits for the next run, like the daemon's digests wait for their window.
                if alerts.check_due(runner.clock()):
                    await alerts.check_health(runner.clock())
                alerts.tick(runner.clock())
                await runner.run_once()
                alerts.stop(runner.clock())
        finally:
            await runner.close()
    asyncio.run(once())
    return RunOnce(runner.published, store.counts(), polled, dict(runner.tally))


def serve(settings: Settings, store, *, watch: list[Path] | tuple[Path, ...] = ()) -> None:
    """The daemon: poll feeds and watched folders, publish each delivery when it is due, until stopped."""
    import asyncio

    asyncio.run(daemon(settings, store, watch=watch).serve())


def daemon(settings: Settings, store, *, watch: list[Path] | tuple[Path, ...] = ()):
    """The daemon `postbot run` serves (and `postbot serve --with-daemon` beside the dashboard)."""
    from postbot.app.alerting import alerts_for
    from postbot.daemon import Daemon
    from postbot.runner import Runner, claimant_gone
    from postbot.sources import Sources

    runner = Runner(store, settings)
    alerts = alerts_for(settings, store, worker=runner.worker, gone=claimant_gone)
    return Daemon(runner, store, sources=Sources(settings, store, watch=list(watch)), alerts=alerts)
