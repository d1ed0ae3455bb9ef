"""Basic units of text: graphemes, UTF-8/UTF-16 lengths, top-level domains, plain URL and emoji spans.

`regex` and publicsuffixlist are imported on first use (the CLI's preview path must start fast).
Indices are Python `str` indices (code points) unless a name says otherwise.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache


@cache
def _regex():
    import regex

    return regex


@cache
def _compile(pattern: str, flags: int = 0):
    """A `regex` pattern compiled once per process (stdlib re is slow to compile wide Unicode ranges)."""
    return _regex().compile(pattern, flags)


compiled_regex = _compile    # its public name, for modules outside postbot.text


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters (what a reader sees as one character)."""
    return _compile(r"\X").findall(text)


# Non-ASCII chars with at most one ASCII char between them. Between two ASCII chars other than CR
# LF a cluster always ends (no ASCII char extends, joins or prepends), so a text's clusters are
# those of these stretches, each with the ASCII char on either side, plus one per other ASCII char.
_NON_ASCII_STRETCH = re.compile(r"[^\x00-\x7f](?:[\x00-\x7f]?[^\x00-\x7f])*")


def grapheme_len(text: str) -> int:
    if text.isascii():
        return len(text) - text.count("\r\n")  # in ASCII only CR LF joins into one cluster
    if "\r" in text:
        return len(graphemes(text))
    count = len(text)
    for match in _NON_ASCII_STRETCH.finditer(text):
        stretch = text[max(match.start() - 1, 0):match.end() + 1]
        count += len(graphemes(stretch)) - len(stretch)
    return count


def grapheme_starts(text: str) -> set[int]:
    return {match.start() for match in _compile(r"\X").finditer(text)}


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@cache
def iana_tlds() -> frozenset[str]:
    """Every top-level domain in the root zone, from the Public Suffix List's ICANN section.

    The PSL writes some country TLDs only as wildcard rules (`*.ck`), so the last label of every
    rule is taken, not only the single-label rules.
    """
    from importlib.resources import files

    listing = files("publicsuffixlist").joinpath("public_suffix_list.dat").read_text("utf-8")
    tlds: set[str] = set()
    in_icann = False
    for line in listing.splitlines():
        line = line.strip()
        if "===BEGIN ICANN DOMAINS===" in line:
            in_icann = True
        elif "===END ICANN DOMAINS===" in line:
            break
        elif in_icann and line and not line.startswith("//"):
            tlds.add(line.rsplit(".", 1)[-1].lstrip("!*").lower())
    tlds.discard("")
    return frozenset(tlds)


# Generic URL detection (links shown to readers on platforms that autolink plainly)

_TRAILING_URL_PUNCTUATION = ".,;:!?'\"…’”»。、，．！？：；」』】"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _trim_url_end(url: str) -> str:
    while url:
        last = url[-1]
        if last in _TRAILING_URL_PUNCTUATION:
            url = url[:-1]
        elif last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last):
            url = url[:-1]
        else:
            break
    return url


_SCHEME_URL = r"(?<![A-Za-z0-9@.])https?://[^\s<>\"\u201c\u201d\u00ab\u00bb]+"
_BARE_DOMAIN = (r"(?<![\w@.\-/:])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z]{2,63}|xn--[a-z0-9\-]+)"
                r"(?![\w\-@])(?::\d{1,5})?(?:[/?#][^\s<>\"\u201c\u201d\u00ab\u00bb]*)?")


@cache
def _url_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    # Stdlib re, not `regex`: on a dotted run (a.a.a… 40k chars) `regex` backtracks through the
    # label chain from every start, growing with the square of the length; re stays linear here
    # (benchmarks/long_words.py, issue 17.3). Neither pattern needs a `regex`-only feature.
    return re.compile(_SCHEME_URL, re.IGNORECASE), re.compile(_BARE_DOMAIN, re.IGNORECASE)


def url_spans(text: str, schemeless: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, full_url) of each URL; bare domains only with schemeless=True (https:// added)."""
    spans: list[tuple[int, int, str]] = []
    scheme_url, bare_domain = _url_patterns()
    for match in scheme_url.finditer(text) if "://" in text else ():
        url = _trim_url_end(match.group())
        if "://" in url and url.split("://", 1)[1].strip("/"):
            spans.append((match.start(), match.start() + len(url), url))
    if schemeless:
        taken = list(spans)
        for match in bare_domain.finditer(text):
            if match.group("tld").lower() not in iana_tlds():
                continue
            start = match.start()
            if any(s <= start < e for s, e, _ in taken):
                continue
            url = _trim_url_end(match.group())
            spans.append((start, start + len(url), "https://" + url))
        spans.sort()
    return spans


def find_urls(text: str, schemeless: bool = False) -> list[str]:
    return [url for _, _, url in url_spans(text, schemeless)]


_EMOJI_ELEMENT = (r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}|(?![#*0-9])\p{Emoji}\ufe0f"
                  r"|\p{Emoji_Presentation}\p{Emoji_Modifier}?)")
# Keycaps, subdivision flags, country flags, then any (ZWJ-joined) emoji with its modifiers.
_EMOJI_SEQUENCE = (r"[#*0-9]\ufe0f?\u20e3|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f|\p{RI}\p{RI}"
                   rf"|{_EMOJI_ELEMENT}(?:\u200d{_EMOJI_ELEMENT})*")


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """Fully qualified emoji sequences; text-style characters like a bare © are not emoji."""
    if text.isascii():
        return []  # every sequence holds a non-ASCII char (U+FE0F, U+20E3 or a pictograph)
    return [match.span() for match in _compile(_EMOJI_SEQUENCE).finditer(text)]
