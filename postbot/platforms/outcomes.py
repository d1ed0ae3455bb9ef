"""HTTP exchanges as outcomes: transport failures and non-2xx answers mapped to the error tree
(errors.py), with the wait times platforms announce (Retry-After, reset headers).

Senders call `send()` for every request and `raise_for_status()` (or Sender.raise_for) on every
answer, then add their platform's quirks (Bluesky's 400 ExpiredToken, X's 403 duplicate,
LinkedIn's 422 DUPLICATE_POST) before or after it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from postbot.errors import AuthExpired, RateLimited, Rejected, Retryable

Clock = Callable[[], datetime]


async def send(client, method: str, url: str, *, what: str, **kwargs: Any):
    """Send one request; transport failures become Retryable, with `sent` telling whether
    the platform may have received it (a refused connection never sent a byte)."""
    import httpx
    try:
        return await client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise Retryable(f"{what}: cannot connect ({type(exc).__name__})", sent=False) from None
    except httpx.TimeoutException as exc:
        # The deadline's own words name its setting; httpx's other timeouts say little more than their type.
        detail = str(exc) if "POSTBOT_REQUEST_DEADLINE_SECONDS" in str(exc) else type(exc).__name__
        raise Retryable(f"{what}: no answer in time ({detail}); it may have been received", sent=True) from None
    except httpx.TransportError as exc:
        raise Retryable(f"{what}: connection broke ({type(exc).__name__}); it may have been received",
                        sent=True) from None


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """`Retry-After` as delta-seconds or an HTTP date."""
    import email.utils      # here, not at the top: rendering imports this module and rarely needs it
    if not value:
        return None
    value = value.strip()
    try:
        return now + timedelta(seconds=float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def epoch(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def iso_time(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    if parsed and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def json_object(response) -> dict[str, Any]:
    """The answer's JSON object; {} when the body is not JSON or not an object."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_message(response) -> str:
    """The platform's own words, short enough for a status line. Redacted before it is cut, so a
    secret the platform echoed cannot survive as a half no longer matching the whole."""
    from postbot.redact import redact
    try:
        body = response.json()
    except ValueError:
        return redact(response.text.strip())[:300] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "message", "error_description", "description", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return redact(value)[:300]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return redact(value["message"])[:300]
    return redact(str(body))[:300]


def raise_for_status(response, *, platform: str, now: datetime,
                     reset: datetime | None = None, fix: str = "") -> None:
    """Map a non-2xx answer to the outcome tree. `reset` is the platform's own rate-limit reset."""
    status = response.status_code
    if status < 300:
        return
    message = f"{platform} answered {status}: {error_message(response)}"
    if status == 429:
        until = reset or retry_after(response.headers.get("retry-after"), now) or now + timedelta(minutes=1)
        raise RateLimited(message, until=max(until, now), status=status)
    if status == 401:
        raise AuthExpired(message + (f"; {fix}" if fix else ""), status=status)
    if status in (408,) or status >= 500:
        after = retry_after(response.headers.get("retry-after"), now)
        raise Retryable(message, after=after, status=status, sent=True)
    raise Rejected(message + (f"; {fix}" if fix else ""), status=status)
