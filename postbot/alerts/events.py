"""What is worth an alert, each as an AlertEvent whose key comes from the event itself, so that whoever
notices it again (this daemon on its next wake, another daemon, the next one after a crash) records
nothing new. Pure: the store's rows and the clock come in, events come out."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from postbot.models import AlertEvent, Delivery, State
from postbot.platforms.lifetime import RENEW_AHEAD
from postbot.redact import redact

# Each kind is rate-limited on its own: a burst of failures does not hold back a crash alert.
KINDS = ("failed", "unknown", "credentials", "token", "crash")


def _event(key: str, kind: str, subject: str, message: str, at: datetime) -> AlertEvent:
    # Keys stay short and printable whatever the channel or worker names hold.
    if len(key) > 200:
        key = key[:150] + "-" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return AlertEvent(key, kind, subject, redact(message), at)


def delivery_event(delivery: Delivery, changed_at: datetime) -> AlertEvent:
    """A delivery that failed or became unknown. The moment it changed is part of the key: the same
    failure seen twice is one event, the same delivery failing again after a retry is another."""
    kind = "failed" if delivery.state is State.FAILED else "unknown"
    stamp = int(changed_at.timestamp() * 1000)
    return _event(f"{kind}:{delivery.id}:{stamp}", kind, delivery.channel,
                  f"#{delivery.id} {delivery.channel} ({delivery.post_slug}): {delivery.error or kind}", changed_at)


def credentials_event(channel: str, detail: str, failing_since: datetime, now: datetime) -> AlertEvent:
    """A channel whose credential check fails; one event per spell of failing (it ends when a check passes)."""
    stamp = int(failing_since.timestamp() * 1000)
    return _event(f"credentials:{channel}:{stamp}", "credentials", channel,
                  f"{channel}: the credential check failed: {detail}", now)


def token_event(channel: str, expires_at: datetime | None, now: datetime, fix: str = "") -> AlertEvent | None:
    """A token within RENEW_AHEAD of its expiry, or past it: one event per expiry date and state, so a
    renewed token that nears its new expiry is told again."""
    if expires_at is None or expires_at > now + RENEW_AHEAD:
        return None
    day = expires_at.date().isoformat()
    if expires_at <= now:
        state, text = "expired", f"{channel}: the token expired on {day}"
    else:
        days = max(1, (expires_at - now).days)
        state, text = "expiring", f"{channel}: the token expires in {days} day(s) ({day})"
    return _event(f"token-{state}:{channel}:{expires_at.isoformat()}", "token", channel,
                  text + (f"; {fix}" if fix else ""), now)


def crashed_daemons(heartbeats: Mapping[str, Any], me: str, now: datetime, alive_within: timedelta,
                    gone: Callable[[str], bool]) -> list[AlertEvent]:
    """Daemons that said they were running and stopped without saying they stopped: their process is
    gone (same host) or their heartbeat went quiet. A daemon that stops cleanly writes running=false;
    heartbeats from before that field existed say nothing and are left alone."""
    events = []
    for worker, beat in heartbeats.items():
        if worker == me or not isinstance(beat, dict) or beat.get("running") is not True:
            continue
        try:
            last = datetime.fromisoformat(beat["at"])
        except (KeyError, TypeError, ValueError):
            continue
        if gone(worker) or now - last > alive_within:
            events.append(_event(f"crash:{worker}", "crash", worker,
                                 f"daemon {worker} did not stop cleanly (last heartbeat {last.isoformat()}, "
                                 f"{beat.get('in_flight', 0)} in flight); daemon {me} is running and has "
                                 f"taken over its deliveries", now))
    return events
