"""What is worth an alert, each as an AlertEvent whose key comes from the event itself, so that whoever
notices it again (this daemon on its next wake, another daemon, the next one after a crash) records
nothing new. Pure: the store's rows and the clock come in, events come out."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping

from postbot.models import AlertEvent, Delivery, State

if TYPE_CHECKING:  # pragma: no cover
    from postbot.platforms.lifetime import KeptToken

UTC = timezone.utc


def _event(key: str, kind: str, subject: str, message: str, at: datetime) -> AlertEvent:
    # Keys stay short and printable whatever the channel or worker names hold.
    if len(key) > 200:
        key = key[:150] + "-" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return AlertEvent(key, kind, subject, message, at)


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


def token_event(channel: str, token: KeptToken, now: datetime, fix: str = "") -> AlertEvent | None:
    """A token past its expiry or due for renewal: one event per expiry date and state, so a renewed
    token that nears its new expiry is told again. `fix` says how to get a new one."""
    expires = token.expires_at()
    if expires is None:
        return None
    if token.expired(now):
        state, text = "expired", f"the token expired on {expires.astimezone(UTC).date().isoformat()}"
    elif token.due(now):
        state = "expiring"
        (text,) = token.describe(now)[1]            # the warning `status` shows: "the token expires in ..."
    else:
        return None
    return _event(f"token-{state}:{channel}:{expires.isoformat()}", "token", channel,
                  f"{channel}: {text}" + (f"; {fix}" if fix else ""), now)


@dataclass(frozen=True)
class Heartbeat:
    """What a daemon last said of itself (store/channels.py HEARTBEATS), read at `now`."""
    at: datetime
    running: bool | None        # False once it stopped cleanly; None in heartbeats from before it said
    fresh: bool                 # heard within alive_within
    in_flight: Any

    @property
    def alive(self) -> bool:
        return self.fresh and self.running is not False


def read_heartbeat(beat: Any, now: datetime, alive_within: timedelta) -> Heartbeat | None:
    """A stored heartbeat, or None when it cannot be read (status and the crash look skip it alike)."""
    if not isinstance(beat, dict):
        return None
    try:
        at = datetime.fromisoformat(beat["at"])
    except (KeyError, TypeError, ValueError):
        return None
    running = beat.get("running")
    return Heartbeat(at, running if isinstance(running, bool) else None, now - at <= alive_within,
                     beat.get("in_flight", 0))


def crashed_daemons(heartbeats: Mapping[str, Any], me: str, now: datetime, alive_within: timedelta,
                    gone: Callable[[str], bool]) -> list[AlertEvent]:
    """Daemons that said they were running and stopped without saying they stopped: their process is
    gone (same host) or their heartbeat went quiet. A daemon that stops cleanly writes running=false;
    heartbeats from before that field existed say nothing and are left alone."""
    events = []
    for worker, beat in heartbeats.items():
        heard = read_heartbeat(beat, now, alive_within)
        if worker == me or heard is None or heard.running is not True:
            continue
        if gone(worker) or not heard.fresh:
            events.append(_event(f"crash:{worker}", "crash", worker,
                                 f"daemon {worker} did not stop cleanly (last heartbeat {heard.at.isoformat()}, "
                                 f"{heard.in_flight} in flight); daemon {me} is running and has "
                                 f"taken over its deliveries", now))
    return events
