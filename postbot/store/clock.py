"""Store time: aware datetimes at the boundary, integer milliseconds since the epoch (UTC) in the tables."""
from __future__ import annotations

from datetime import datetime, timezone

UTC = timezone.utc


def ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return int(moment.timestamp() * 1000)


def from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)
