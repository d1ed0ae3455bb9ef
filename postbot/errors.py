"""The error tree, split by what happens next.

    PostbotError
    ├── UsageError          bad input; the CLI exits 2
    │   ├── ConfigError     a setting is wrong or missing (names the variable)
    │   ├── PostError       a post file is wrong (names file and line)
    │   └── RenderError     a post cannot fit a channel (names channel and overflow)
    ├── StoreError          the database refused; the CLI exits 1
    └── PublishError        raised by publishers; the runner decides what to do next
        ├── Retryable       transient (5xx, timeout, refused connection); retry at `after`
        ├── RateLimited     wait until `until`, holding the whole channel
        ├── AuthExpired     refresh the credentials once, then retry (senders that
        │                   `refreshes`); otherwise permanent, like Rejected
        ├── Rejected        permanent; keeps the platform's own message
        └── Ambiguous       the request may or may not have landed; only a
                            deduplicating platform or a lookup may resolve it

Every PublishError carries `sent`: whether the post may have reached the platform
and been taken. False when no byte left this machine, or when the platform's own
answer says it took nothing (a 429, a refusal before the post request). Retrying
something that was not sent is always safe.

A ConfigError from a sender means a setting is missing or malformed; senders check
settings before their first request, so nothing was sent. The runner records it as
a permanent failure naming the setting (fix it, then `postbot retry`).
"""
from __future__ import annotations

from datetime import datetime


class PostbotError(Exception):
    exit_code = 1


class UsageError(PostbotError):
    exit_code = 2


class ConfigError(UsageError):
    pass


class PostError(UsageError):
    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path, self.line = path, line
        where = path or ""
        if path and line:
            where = f"{path}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class RenderError(UsageError):
    def __init__(self, message: str, channel: str | None = None, overflow: int | None = None):
        self.channel, self.overflow = channel, overflow
        super().__init__(message)


class StoreError(PostbotError):
    pass


class PublishError(PostbotError):
    """Base of everything a publisher raises. `status` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None, sent: bool = True):
        self.status, self.sent = status, sent
        super().__init__(message)


class Retryable(PublishError):
    def __init__(self, message: str, *, after: datetime | None = None, status: int | None = None,
                 sent: bool = True):
        self.after = after
        super().__init__(message, status=status, sent=sent)


class RateLimited(PublishError):
    """The platform answered "not now": it took nothing, so by default nothing was sent."""

    def __init__(self, message: str, *, until: datetime, status: int | None = 429, sent: bool = False):
        self.until = until
        super().__init__(message, status=status, sent=sent)


class AuthExpired(PublishError):
    pass


class Rejected(PublishError):
    pass


class Ambiguous(PublishError):
    pass


def unsent(error: PublishError) -> PublishError:
    """`error`, marked as not sent (it came from a step before the post itself, such as an upload or
    a token refresh). The same object: its type, `status`, `after` and `until` stay as they were."""
    error.sent = False
    return error
