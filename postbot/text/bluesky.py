"""Bluesky's rich text: link and tag facets as @atproto/api finds them, at UTF-8 byte offsets,
and links shown shortened as the Bluesky app shows them."""
from __future__ import annotations

from typing import Any

from postbot.text.units import _compile, _regex, iana_tlds, utf8_offsets, utf16_len


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


def _bluesky_spans(text: str) -> list[tuple[int, int, dict[str, str]]]:
    """(start, end, feature) in str indices, sorted, for links, #tags and $cashtags."""
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
    trailing_punctuation = _compile(r"\p{P}+$")
    for match in _compile(_BSKY_TAG).finditer(text):
        tag = match.group("tag")
        if not tag:
            continue
        tag = trailing_punctuation.sub("", tag)
        if not tag or utf16_len(tag) > 64:
            continue
        spans.append((match.start(), match.start() + 1 + len(tag), {"$type": TAG, "tag": tag}))
    for match in _compile(_BSKY_CASHTAG).finditer(text):
        ticker = match.group("ticker")
        spans.append((match.start(), match.start() + 1 + len(ticker), {"$type": TAG, "tag": "$" + ticker.upper()}))
    spans.sort(key=lambda span: span[0])
    return spans


def _facet(offsets: list[int], start: int, end: int, feature: dict[str, str]) -> dict[str, Any]:
    return {"index": {"byteStart": offsets[start], "byteEnd": offsets[end]}, "features": [feature]}


def bluesky_detect(text: str) -> list[dict[str, Any]]:
    """Link and tag facets on `text` as written (UTF-8 byte offsets), sorted by byteStart."""
    offsets = utf8_offsets(text)
    return [_facet(offsets, start, end, feature) for start, end, feature in _bluesky_spans(text)]


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
    display_text = "".join(pieces)
    offsets = utf8_offsets(display_text)
    return display_text, [_facet(offsets, start, end, feature) for start, end, feature in shown]
