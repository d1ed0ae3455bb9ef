"""The retry policy as a pure function: what one publish error means for its delivery.

`decide(error, delivery, now, ...)` reads nothing and writes nothing; the runner carries out the
`Outcome` (hold the channel, requeue, finish). The rules:
- a rate limit holds the whole channel until the platform's time and is not a failed attempt;
- a rejection, expired credentials after the one refresh, or a setting that is wrong fail at once;
- anything that may have landed on a platform that does not deduplicate is `unknown`, never resent;
- the rest is retried with backoff (never before the platform's own `Retry-After`), until
  `max_attempts`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from postbot.errors import AuthExpired, ConfigError, PublishError, RateLimited, Rejected, Retryable
from postbot.models import Delivery, State


class Backoff:
    """Exponential backoff with jitter, as data (inject `rng`, or jitter=0, for exact waits)."""

    def __init__(self, base: float = 30.0, cap: float = 3600.0, jitter: float = 0.2,
                 rng: random.Random | None = None):
        self.base, self.cap, self.jitter = base, cap, jitter
        self.rng = rng or random.Random()

    def delay(self, attempt: int) -> timedelta:
        seconds = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        seconds *= 1 + self.rng.uniform(-self.jitter, self.jitter)
        return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Outcome:
    """What to do with a delivery after an error. `state` SCHEDULED means requeue at `run_at`."""

    state: State
    label: str                          # the attempt's outcome: rate_limited, retry, failed, unknown
    error: str                          # the delivery's error line, with the fix
    run_at: datetime | None = None
    hold_until: datetime | None = None  # hold every delivery of the channel until then
    refund: bool = False                # waiting for a rate limit is not a failed attempt
    clear_sending: bool = False         # nothing of this part went out: drop the 'sending' mark


def decide(error: PublishError | ConfigError, delivery: Delivery, now: datetime, *, dedupes: bool,
           max_attempts: int, backoff: Backoff, parts_done: int = 0) -> Outcome:
    """The outcome of `error` raised while publishing part `parts_done` of `delivery` at `now`."""
    message = str(error)
    if isinstance(error, ConfigError):
        # Senders check their settings before any request: nothing of this part was sent.
        kept = (f"; the {parts_done} part(s) already published stay published and are not sent again"
                if parts_done else "")
        return Outcome(State.FAILED, "failed", clear_sending=True,
                       error=f"not sent: {message}{kept}; fix the setting, then `postbot retry {delivery.id}`")
    if isinstance(error, RateLimited):
        if error.sent and not dedupes:
            return Outcome(State.UNKNOWN, "unknown", unknown_message(delivery, error), hold_until=error.until)
        return Outcome(State.SCHEDULED, "rate_limited", f"rate limited until {error.until.isoformat()}: {message}",
                       run_at=error.until, hold_until=error.until, refund=True, clear_sending=True)
    if isinstance(error, (Rejected, AuthExpired)):
        return Outcome(State.FAILED, "failed", message)
    clear = isinstance(error, Retryable) and not error.sent
    if not clear and not dedupes:
        # It may have landed (Ambiguous says so outright): never send blindly again.
        return Outcome(State.UNKNOWN, "unknown", unknown_message(delivery, error))
    if delivery.attempts >= max_attempts:
        return Outcome(State.FAILED, "failed", f"gave up after {delivery.attempts} attempts; last error: {message}",
                       clear_sending=clear)
    run_at = now + backoff.delay(delivery.attempts)
    if isinstance(error, Retryable) and error.after and error.after > run_at:
        run_at = error.after
    return Outcome(State.SCHEDULED, "retry", f"retrying at {run_at.isoformat()}: {message}", run_at=run_at,
                   clear_sending=clear)


def unknown_message(delivery: Delivery, error: Exception) -> str:
    return (f"may or may not have been published ({error}); check {delivery.channel} and then run "
            f"`postbot retry {delivery.id}` to send it or `postbot cancel {delivery.id}`")
