"""Bluesky's rich text: link and tag facets as @atproto/api finds them, at UTF-8 byte offsets,
and links shown shortened as the Bluesky app shows them."""
from __future__ import annotations

import re
from typing import Any

from postbot.text.units import _compile, _regex, iana_tlds, utf16_len


_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_BSKY_URL = (rf"(?:^|(?<=[{_JS_SPACE}(]))(?:https?://[^{_JS_SPACE}]+"
             rf"|(?P<domain>[a-z][a-z0-9]*(?:\.[a-z0-9]+)+)[^{_JS_SPACE}]*)")
_TAG_BREAKERS = r"\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_BSKY_TAG = (rf"(?:^|(?<=[{_JS_SPACE}]))[#\uff03](?P<tag>(?!\ufe0f)[^{_JS_SPACE}{_TAG_BREAKERS}]*"
             rf"[^0-9{_JS_SPACE}\p{{P}}{_TAG_BREAKERS}]+[^{_JS_SPACE}{_TAG_BREAKERS}]*)?")
_BSKY_CASHTAG = (rf"(?:^|(?<=[{_JS_SPACE}(]))\$(?P<ticker>[A-Za-z][A-Za-z0-9]{{0,4}})"
                 rf"(?=[{_JS_SPACE}]|$|[.,;:!?)\"'\u2019])")

LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"


def _bluesky_domain_ok(domain: str) -> bool:
    # As @atproto/api: the domain must end in "." + a known TLD, compared case-sensitively.
    head, dot, tld = domain.rpartition(".")
    return bool(dot) and tld in iana_tlds() and bool(head)


# Every link needs "://" or a '.' before a letter or digit; ASCII punctuation, spaces and controls
# after a '.' are none ([a-z] under IGNORECASE matches a few non-ASCII letters, so those stay in).
_MAY_HOLD_DOMAIN = re.compile(r"\.[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]")


def _bluesky_spans(text: str) -> list[tuple[int, int, dict[str, str]]]:
    """(start, end, feature) in str indices, sorted, for links, #tags and $cashtags."""
    spans = _bluesky_links(text) if "://" in text or _MAY_HOLD_DOMAIN.search(text) else []
    if "#" in text or "\uff03" in text:
        spans += _bluesky_tags(text)
    if "$" in text:
        for match in _compile(_BSKY_CASHTAG).finditer(text):
            ticker = match.group("ticker")
            spans.append((match.start(), match.start() + 1 + len(ticker), {"$type": TAG, "tag": "$" + ticker.upper()}))
    spans.sort(key=lambda span: span[0])
    return spans


def _bluesky_links(text: str) -> list[tuple[int, int, dict[str, str]]]:
    regex = _regex()
    spans: list[tuple[int, int, dict[str, str]]] = []
    for match in _compile(_BSKY_URL, regex.IGNORECASE | regex.MULTILINE).finditer(text):
        uri, start = match.group(), match.start()
        if not uri.startswith("http"):
            domain = match.group("domain")  # None for an upper-case scheme, which @atproto/api skips too
            if not domain or not _bluesky_domain_ok(domain):
                continue
            uri = "https://" + uri
        elif "://" not in uri[:8]:
            # @atproto/api would keep "httpbin.org" without a scheme; the lexicon wants a full URI.
            if not _bluesky_domain_ok(match.group("domain") or ""):
                continue
            uri = "https://" + uri
        end = match.end()
        if uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        spans.append((start, end, {"$type": LINK, "uri": uri}))
    return spans


def _bluesky_tags(text: str) -> list[tuple[int, int, dict[str, str]]]:
    spans: list[tuple[int, int, dict[str, str]]] = []
    trailing_punctuation = _compile(r"\p{P}+$")
    for match in _compile(_BSKY_TAG).finditer(text):
        tag = match.group("tag")
        if not tag:
            continue
        tag = trailing_punctuation.sub("", tag)
        if not tag or utf16_len(tag) > 64:
            continue
        spans.append((match.start(), match.start() + 1 + len(tag), {"$type": TAG, "tag": tag}))
    return spans


def _facets(text: str, spans: list[tuple[int, int, dict[str, str]]]) -> list[dict[str, Any]]:
    """Facets at the UTF-8 byte offsets of the spans' ends in `text` (only those are encoded)."""
    if text.isascii():
        offsets: dict[int, int] | list[int] = range(len(text) + 1)   # type: ignore[assignment]
    else:
        offsets, position, size = {}, 0, 0
        for index in sorted({i for start, end, _ in spans for i in (start, end)}):
            size += len(text[position:index].encode("utf-8"))
            offsets[index], position = size, index
    return [{"index": {"byteStart": offsets[start], "byteEnd": offsets[end]}, "features": [feature]}
            for start, end, feature in spans]


def bluesky_detect(text: str) -> list[dict[str, Any]]:
    """Link and tag facets on `text` as written (UTF-8 byte offsets), sorted by byteStart."""
    return _facets(text, _bluesky_spans(text))


def short_url(url: str) -> str:
    """How the Bluesky app shows a link: no scheme, and a long path cut to 13 chars plus '...'."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2].lower()
    path = "" if parts.path == "/" else parts.path
    path += ("?" + parts.query if parts.query else "") + ("#" + parts.fragment if parts.fragment else "")
    return host + path[:13] + "..." if utf16_len(path) > 15 else host + path


def bluesky_facets(text: str) -> tuple[str, list[dict[str, Any]]]:
    """(display_text, facets): full URLs shown shortened, each facet keeping the full URI."""
    display_text, shown = _bluesky_display(text)
    return display_text, _facets(display_text, shown)


def bluesky_display(text: str) -> str:
    """The text as sent and shown: full URLs shortened. It is the same piece by piece for pieces
    split before a line feed: no link or tag spans one, and a line feed or the text's end stop
    one alike."""
    return _bluesky_display(text)[0]


def _bluesky_display(text: str) -> tuple[str, list[tuple[int, int, dict[str, str]]]]:
    pieces: list[str] = []
    shown: list[tuple[int, int, dict[str, str]]] = []
    position = length = 0
    for start, end, feature in _bluesky_spans(text):
        pieces.append(text[position:start])
        length += start - position
        written = text[start:end]
        display = short_url(written) if feature["$type"] == LINK and written == feature["uri"] else written
        pieces.append(display)
        shown.append((length, length + len(display), feature))
        length += len(display)
        position = end
    pieces.append(text[position:])
    return "".join(pieces), shown
