"""Access tokens that expire: the newest one kept in the channel state, when it expires, when to renew.

The configured token (<NAME>_ACCESS_TOKEN, with its expiry in <NAME>_TOKEN_EXPIRES_AT when the
platform gave one) is where a channel starts. A refreshed token is kept in the store together with
the token it was granted from, so the kept one is used only while the setting still names that
origin: replacing the setting (reconnecting) makes postbot start again from the new value.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from postbot.models import Channel

UTC = timezone.utc
RENEW_AHEAD = timedelta(days=7)      # renew this long before expiry; `status` warns from the same point
STATE_KEY = "access_token"


def parse_expiry(raw: str | None) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise); None when empty or not a date."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def expiry_after(now: datetime, expires_in: int | str | None) -> str | None:
    """When a token granted at `now` for `expires_in` seconds (an OAuth answer's field) expires, as ISO
    text; None when the answer gave no lifetime."""
    if not expires_in:
        return None
    return (now + timedelta(seconds=int(expires_in))).isoformat(timespec="seconds")


class KeptToken:
    """One channel's access token over its lifetime."""

    def __init__(self, channel: Channel, state, setting: str = "ACCESS_TOKEN",
                 expiry_setting: str = "TOKEN_EXPIRES_AT"):
        self.channel, self.state = channel, state
        self.setting, self.expiry_setting = setting, expiry_setting

    def configured(self) -> str:
        return self.channel.setting(self.setting) or ""

    def _kept(self) -> dict[str, Any] | None:
        kept = self.state.get(STATE_KEY)
        if isinstance(kept, dict) and kept.get("access_token") and kept.get("granted_from") == self.configured():
            return kept
        return None

    def current(self) -> str:
        kept = self._kept()
        return kept["access_token"] if kept else self.configured()

    def expires_at(self) -> datetime | None:
        kept = self._kept()
        if kept:
            return parse_expiry(kept.get("expires_at"))
        return parse_expiry(self.channel.setting(self.expiry_setting))

    def due(self, now: datetime) -> bool:
        """Whether to renew now: the expiry is known, still ahead, and within RENEW_AHEAD."""
        expires = self.expires_at()
        return expires is not None and now < expires <= now + RENEW_AHEAD

    def expired(self, now: datetime) -> bool:
        expires = self.expires_at()
        return expires is not None and expires <= now

    def kept_extra(self, key: str) -> Any:
        """Something kept with the renewed token (a rotated refresh token), while that token is current."""
        kept = self._kept()
        return kept.get(key) if kept else None

    def keep(self, token: str, expires_in: int | None, now: datetime, **extra: Any) -> None:
        """Store a renewed token (one write: token, expiry, origin and `extra` together). The channel
        state registers it with postbot.redact as it is written (and read back by a later process)."""
        self.state.set(STATE_KEY, {"access_token": token, "granted_from": self.configured(),
                                   "expires_at": expiry_after(now, expires_in), "renewed_at": now.isoformat(),
                                   **extra})

    def describe(self, now: datetime) -> tuple[str, list[str]]:
        """For `status`: when the token expires, and a warning within RENEW_AHEAD of that."""
        expires = self.expires_at()
        if expires is None:
            return "", []
        day = expires.astimezone(UTC).date().isoformat()
        if expires <= now:
            return f"token expired {day}", []
        if expires <= now + RENEW_AHEAD:
            days = max(1, (expires - now).days)
            return f"token expires {day}", [f"the token expires in {days} day(s) ({day})"]
        return f"token expires {day}", []
