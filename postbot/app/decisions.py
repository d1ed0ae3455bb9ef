"""What a person decides about one delivery: look at it, cancel, retry, reschedule, or settle it as published."""
from __future__ import annotations

from datetime import datetime

from postbot.app.channels import utcnow
from postbot.app.previews import find_delivery
from postbot.config import Settings
from postbot.errors import UsageError
from postbot.models import Attempt, Delivery, State
from postbot.times import parse_when


def list_deliveries(store, state: str | None = None, limit: int = 1000) -> list[Delivery]:
    """The earliest due first, at most `limit`."""
    return store.list(State(state) if state else None, limit=limit)


def show(store, delivery_id: int) -> tuple[Delivery, list[Attempt]]:
    """One delivery and every attempt at it."""
    return find_delivery(store, delivery_id), store.attempts(delivery_id)


def cancel(store, delivery_id: int, now: datetime | None = None) -> Delivery:
    return store.cancel(delivery_id, now or utcnow())


def retry(store, delivery_id: int, now: datetime | None = None) -> Delivery:
    """Send a failed or unknown delivery again now."""
    return store.retry(delivery_id, now or utcnow())


def reschedule(settings: Settings, store, delivery_id: int, at: str, now: datetime | None = None) -> Delivery:
    now = now or utcnow()
    when = parse_when(at, now, settings.zone())
    if when is None:
        raise UsageError("--at next is only for queue; give a time")
    return store.reschedule(delivery_id, when, now)



def mark_published(store, delivery_id: int, remote_url: str | None = None, now: datetime | None = None) -> Delivery:
    """Settle an `unknown` delivery the user found on the platform: it went out (at remote_url)."""
    if remote_url and not remote_url.startswith(("https://", "http://")):
        raise UsageError(f"--url {remote_url!r} is not a web address; paste the post's https:// link")
    return store.mark_published(delivery_id, remote_url or None, now or utcnow())
