"""Secrets never leave the process in clear: redact() masks them in every line printed, logged or stored.

Two nets, both applied by redact():
- Values: every configured secret (settings named *_TOKEN, *_SECRET, *_PASSWORD, *_KEY, *_WEBHOOK_URL,
  a webhook channel's URL, the database password) and every token obtained at run time (sessions,
  renewed access tokens: the channel state registers them as it reads and writes them) is masked
  wherever it appears, also URL-encoded or JSON-escaped, and a secret URL's long path segments and
  query values on their own (a webhook's token when only part of its URL is echoed).
- Shapes: what looks like a credential is masked even when postbot never saw the value:
  Authorization/Cookie header values, `Bearer …`, `access_token=…`-style fields, the password in
  `scheme://user:password@host`, Discord/Slack webhook path tokens, Telegram bot tokens and JWTs.

The API other modules use: redact(text), redact_data(json_like), remember(pairs),
remember_secret(value), remember_settings(settings), remember_tokens_in(json_like), RedactingFilter.
"""
from __future__ import annotations

import functools
import json
import re
import threading
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

MASK = "***"
_SECRET_KEY = re.compile(r"(TOKEN|SECRET|PASSWORD|KEY|WEBHOOK_URL)$")
# Fields of the channel state (and of platform answers) that hold a credential.
_TOKEN_FIELD = re.compile(r"(?i)(token|jwt|secret|password)$")
MIN_LENGTH = 4              # shorter values would mask ordinary words
MIN_SEGMENT = 16            # a secret URL's path segment or query value this long is a token on its own

_values: set[str] = set()
_remembered: set[str] = set()      # what remember_secret was given: its variants are all in _values
_lock = threading.Lock()
_by_value: "_ValueIndex | None" = None

# A credential's characters: stops at quotes, separators and brackets around it.
_CRED = r"[^\s\"'&,;<>(){}\[\]]"
# Every pattern is linear in the text's length: a run that begins with `*` or `{n,}` may start only
# where the character before cannot belong to it (a one-character lookbehind), so a 40,000-character
# word is scanned once, not once per position (issue 17.3; benchmarks/long_words.py measures it).
_NAME = r"[A-Za-z0-9_\-]"


def _keep_scheme(match: "re.Match[str]") -> str:
    scheme = match.group(3)
    return f"{match.group(1)}{match.group(2)}{scheme + ' ' if scheme else ''}{MASK}"


def _any(*words: str) -> Callable[[str], bool]:
    return lambda lowered: any(word in lowered for word in words)


_DIGIT_COLON = tuple(f"{digit}{colon}" for digit in "0123456789" for colon in (":", "%3a"))

# (pattern, replacement, marker). The marker is tested on the lower-cased text before its pattern is
# compiled or run, and must hold wherever the pattern can match: each names a literal every match
# contains (case-insensitively; a non-ASCII text runs every pattern, as str.lower() and re's IGNORECASE
# disagree on a few letters). Most text (a post's preview) holds none, and pays no regex at all.
_SHAPE_SOURCES: list[tuple[str, Any, Callable[[str], bool]]] = [
    # scheme://user:password@host
    (r"(?i)(?<![a-z0-9+.\-])([a-z][a-z0-9+.\-]*://[^\s/:@\"']*:)[^\s/@\"']+@", r"\1" + MASK + "@",
     lambda lowered: "://" in lowered and "@" in lowered),
    # Authorization: Bearer …  /  "authorization": "Basic …"  /  Cookie: …  (header dumps, reprs, JSON);
    # a parameter list (OAuth 1.0a: oauth_token="…") is left to the field rule below
    (r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-access-token)"
     r"([\"']?[ \t]*[:=][ \t]*[\"']?)(?:(bearer|basic|bot|token|oauth|dpop|digest)[ \t]+)?"
     r"(?![ \t]*(?:[A-Za-z]+[ \t]+)?[A-Za-z_]+=)[^\"'\r\n]+",
     _keep_scheme, _any("authorization", "cookie", "api-key", "auth-token", "access-token")),
    (r"(?i)\b(bearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*", r"\1" + MASK, _any("bearer")),
    # access_token=…, "refreshJwt": "…", client_secret: …, oauth_signature="…": a value that looks like one
    # (8+ characters with a digit, or 20+), so "NEWS_BOT_TOKEN: set it" stays readable. Not oauth_token:
    # X's authorize address carries the short-lived request token the user must open (`postbot connect
    # x`); as an access token it is a configured or kept secret, masked by value.
    (r"(?i)((?<!" + _NAME + r")(?!oauth_token[\"']?[ \t]*[:=])"
     r"(?:" + _NAME + r"*(?:token|secret|password|passwd|jwt|api[_-]?key|signature)|"
     r"oauth_[a-z_]+)[\"']?[ \t]*[:=][ \t]*[\"']?)"
     r"((?=" + _CRED + r"{0,200}\d)" + _CRED + r"{8,}|" + _CRED + r"{20,})",
     r"\1" + MASK, _any("token", "secret", "passw", "jwt", "api", "signature", "oauth_")),
    # Discord webhooks/<id>/<token>, Slack services/T…/B…/<token> and triggers/…: the path is the key.
    (r"(?i)(webhooks/\d{5,}/)[A-Za-z0-9_\-.]+", r"\1" + MASK, _any("webhooks/")),
    (r"(?i)\b(services/T[A-Z0-9]+/B[A-Z0-9]+/)[A-Za-z0-9]+", r"\1" + MASK, _any("services/")),
    (r"(?i)(hooks\.slack\.com/(?:triggers|workflows)/)[^\s\"'<>]+", r"\1" + MASK, _any("hooks.slack.com/")),
    (r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", MASK, _any("xox")),
    # Telegram bot tokens <bot id>:<35 characters>, also URL-encoded in a path
    (r"(?<!\d)(\d{5,}(?::|%3[Aa]))[A-Za-z0-9_\-]{30,}", r"\1" + MASK, _any(*_DIGIT_COLON)),
    # JWTs (Bluesky sessions, OAuth access tokens): base64url JSON starts with eyJ
    (r"\beyJ[A-Za-z0-9_\-]{10,}(?:\.[A-Za-z0-9_\-]*){0,2}", MASK, _any("eyj")),
]


def _variants(value: str) -> set[str]:
    """The value as it may appear in text: as is, URL-encoded, form-encoded, JSON-escaped."""
    found = {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1]}
    if value.lower().startswith(("http://", "https://")):
        parts = urlsplit(value)
        pieces = [segment for segment in parts.path.split("/")] + [v for _, v in parse_qsl(parts.query)]
        found.update(piece for piece in pieces if len(piece) >= MIN_SEGMENT and not piece.isdigit())
        if parts.password:
            found.add(parts.password)
    return {v for v in found if len(v) >= MIN_LENGTH}


def remember_secret(value: str | None) -> None:
    """Mask `value` (a token just obtained, a password typed) from now on, in this process."""
    global _by_value
    # ChannelState.get calls this on every read (the publish path): a value seen before costs a lookup.
    if not isinstance(value, str) or value in _remembered or len(value.strip()) < MIN_LENGTH:
        return
    new = _variants(value.strip()) | _variants(value)
    with _lock:
        if not new <= _values:
            _values.update(new)
            _by_value = None
        _remembered.add(value)


def remember(settings_items: Iterable[tuple[str, str]]) -> None:
    """(setting name, value) pairs: those named like a secret are masked from now on."""
    for key, value in settings_items:
        if value and _SECRET_KEY.search(key.upper()):
            remember_secret(value)


def remember_settings(settings) -> None:
    """Every channel's secrets, a webhook channel's URL (its path is often the key) and the database
    password."""
    for channel in settings.channels:
        remember(channel.settings.items())
        if channel.kind == "webhook":
            remember_secret(channel.settings.get("URL"))
    try:
        remember_secret(urlsplit(settings.database_url).password)
    except ValueError:
        pass


def remember_tokens_in(value: Any, key: str = "") -> None:
    """Register every credential inside a JSON-like value: strings under a key named like a token
    (access_token, refreshJwt, client_secret...), however deep."""
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            remember_tokens_in(inner, str(inner_key))
    elif isinstance(value, (list, tuple)):
        for inner in value:
            remember_tokens_in(inner, key)
    elif isinstance(value, str) and _TOKEN_FIELD.search(key):
        remember_secret(value)


class _ValueIndex:
    """The remembered values grouped by their first MIN_LENGTH characters. With a secret or two per
    channel and a thousand channels, trying every value (or one alternation of all of them) at every
    position of every log line was most of a line's cost; only values whose first characters occur in
    the text can be in it, and finding those is one pass over the text's 4-character windows."""

    def __init__(self, values: set[str]) -> None:
        self.heads: dict[str, list[str]] = {}
        for value in values:
            self.heads.setdefault(value[:MIN_LENGTH], []).append(value)

    def candidates(self, text: str) -> list[str]:
        heads = self.heads
        found = {value for i in range(len(text) - MIN_LENGTH + 1) for value in heads.get(text[i:i + MIN_LENGTH], ())}
        return sorted(found, key=lambda value: (-len(value), value))     # the longest form wins


def _value_index() -> _ValueIndex | None:
    global _by_value
    with _lock:
        if _by_value is None and _values:
            _by_value = _ValueIndex(set(_values))
        return _by_value


@functools.cache
def _shape(index: int) -> re.Pattern[str]:
    # Compiled on first use, each alone: rendering imports this module and may never print a secret.
    return re.compile(_SHAPE_SOURCES[index][0])


def redact(text: str) -> str:
    """`text` with every known secret and everything shaped like a credential replaced by ***."""
    if not text:
        return text
    text = str(text)
    index = _value_index()
    if index is not None:
        for value in index.candidates(text):
            text = text.replace(value, MASK)     # MASK is shorter than any value: it cannot make a new one
    # Masking only ever puts *** where text was, so it cannot make a marker appear that was not there.
    lowered = text.lower() if text.isascii() else None
    for index, (_, replacement, marker) in enumerate(_SHAPE_SOURCES):
        if lowered is None or marker(lowered):
            text = _shape(index).sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """redact() over the strings of a JSON-like value (a delivery's progress); keys and numbers kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(inner) for inner in value]
    return value


class RedactingFilter:
    """On a logging handler: the message and any traceback pass redact() before they are written.
    (A handler takes any object with this method; not subclassing logging.Filter keeps logging out of
    the imports of rendering, which registers tokens here.)"""

    def filter(self, record) -> bool:
        import logging
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
