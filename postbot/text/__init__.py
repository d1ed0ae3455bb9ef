"""Counting and cutting text exactly as each platform does.

Every length limit, link detection and cut point postbot uses comes from here, so the renderer, the
preview and the publishers can never disagree. Heavy modules (regex, ftfy, budoux, publicsuffixlist)
are imported on first use: the CLI's preview path imports this module and must start fast.

Indices are Python `str` indices (code points) unless a name says otherwise (`byteStart`, UTF-16).
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

# ---------------------------------------------------------------------------------------------
# Basic units


@cache
def _regex():
    import regex

    return regex


@cache
def _compile(pattern: str, flags: int = 0):
    return _regex().compile(pattern, flags)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters (what a reader sees as one character)."""
    return _compile(r"\X").findall(text)


def grapheme_len(text: str) -> int:
    if text.isascii():
        return len(text) - text.count("\r\n")  # in ASCII only CR LF joins into one cluster
    return len(graphemes(text))


def _grapheme_starts(text: str) -> set[int]:
    return {match.start() for match in _compile(r"\X").finditer(text)}


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _utf8_offsets(text: str) -> list[int]:
    """offsets[i] = UTF-8 byte offset of str index i (one entry past the end as well)."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.encode("utf-8")))
    return offsets


# ---------------------------------------------------------------------------------------------
# Top-level domains

def _x_tlds() -> tuple[list[str], list[str]]:
    from postbot.text.x_tlds import COUNTRY_TLDS, GENERIC_TLDS

    return GENERIC_TLDS.split(), COUNTRY_TLDS.split()


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


# ---------------------------------------------------------------------------------------------
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


def url_spans(text: str, schemeless: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, full_url) of each URL; bare domains only with schemeless=True (https:// added)."""
    spans: list[tuple[int, int, str]] = []
    for match in _compile(_SCHEME_URL, _regex().IGNORECASE).finditer(text):
        url = _trim_url_end(match.group())
        if "://" in url and url.split("://", 1)[1].strip("/"):
            spans.append((match.start(), match.start() + len(url), url))
    if schemeless:
        taken = list(spans)
        for match in _compile(_BARE_DOMAIN, _regex().IGNORECASE).finditer(text):
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


# ---------------------------------------------------------------------------------------------
# X: twitter-text v3 (config/v3.json, parseTweet, extractUrlsWithIndices), re-implemented so the
# first count costs milliseconds instead of the PyPI port's half second of import.

_X_CONFIGS: dict[str, dict[str, Any]] = {
    "v1": {"max": 140, "scale": 1, "default_weight": 1, "url_length": 23, "emoji": False, "ranges": ()},
    "v2": {"max": 280, "scale": 100, "default_weight": 200, "url_length": 23, "emoji": False,
           "ranges": ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))},
}
_X_CONFIGS["v3"] = {**_X_CONFIGS["v2"], "emoji": True}
for _short, _long in (("v1", "version1"), ("v2", "version2"), ("v3", "version3"), ("v3", "defaults")):
    _X_CONFIGS[_long] = _X_CONFIGS[_short]

_X_INVALID_CHARS = "\ufffe\ufeff\uffff"
_X_SPACES = r"\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_X_DIRECTIONAL = r"\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_X_LATIN_ACCENTS = (r"\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
                    r"\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff")
_X_CYRILLIC = r"\u0400-\u04ff"
# twitter-text's punctuation set has no double quote or backtick, so those count as domain chars.
_X_DOMAIN_CHAR = (r"[^!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$" + _X_SPACES + _X_INVALID_CHARS + _X_DIRECTIONAL + "]")


@cache
def _x_url_patterns():
    tld = _x_tld()
    d = _X_DOMAIN_CHAR
    # Labels start and end with a domain char; possessive loops keep long runs of letters linear.
    subdomain = rf"(?:{d}(?:[_\-]*+{d})*+\.)"
    domain_name = rf"(?:{d}(?:-*+{d})*+\.)"
    domain = rf"(?:{subdomain}*{domain_name}{tld})"
    path_char = rf"[a-z{_X_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_X_LATIN_ACCENTS}]"
    parens = rf"\((?:{path_char}+|(?:{path_char}*\({path_char}+\){path_char}*))\)"
    path_end = rf"(?:[+\-a-z{_X_CYRILLIC}0-9=_#/{_X_LATIN_ACCENTS}]|{parens})"
    path = rf"(?:(?:{path_char}*(?:{parens}{path_char}*)*{path_end})|(?:@{path_char}+/))"
    query_char = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
    query_end = r"[a-z0-9\-_&=#/]"
    url = (rf"(?P<scheme>https?://)?(?P<domain>{domain})(?::(?P<port>[0-9]+))?"
           rf"(?P<path>/{path}*)?(?P<query>\?{query_char}*{query_end})?")
    tco = rf"^https?://t\.co/(?P<slug>[a-z0-9]+)(?:\?{query_char}*{query_end})?"
    # The stdlib engine compiles this 1,574-name alternation three times faster than `regex`.
    return re.compile(url, re.IGNORECASE), re.compile(tco, re.IGNORECASE)


@cache
def _x_ascii_domain():
    """The ASCII part of a domain: the only part twitter-text links when the scheme is missing."""
    return re.compile(rf"(?:(?:[\-a-z0-9{_X_LATIN_ACCENTS}]+)\.)+{_x_tld()}", re.IGNORECASE)


@cache
def _x_tld() -> str:
    generic, country = _x_tlds()
    names = "|".join(map(re.escape, sorted(generic + country, key=lambda name: (-len(name), name))))
    return rf"(?:(?:{names})(?=[^0-9a-zA-Z@+\-]|$)|xn--[\-0-9a-z]+)"


@cache
def _x_char_classes():
    compile_ = _regex().compile
    return (compile_(rf"[^A-Za-z0-9@\uff20$#\uff03{_X_INVALID_CHARS}]"),  # may precede a URL
            compile_(rf"(?:{_X_DOMAIN_CHAR}|[_\-])+"))                 # runs that can hold a label


def _x_url_starts(text: str):
    """Where twitter-text's URL regex could begin a match, in the order its scan tries them.

    The regex itself is tried only there: scanning every position of a long run of letters (a
    Japanese paragraph has no spaces) would make it quadratic. A domain begins in a run of label
    characters that reaches a '.', or a scheme begins.
    """
    may_precede, label_run = _x_char_classes()
    schemes = {match.start() for match in _compile(r"https?://", _regex().IGNORECASE).finditer(text)}
    domains: set[int] = set()
    for run in label_run.finditer(text):
        if text[run.end():run.end() + 1] == ".":
            domains.update(range(run.start(), run.end()))
    order = sorted(schemes | domains)
    if order[:2] == [0, 1] and may_precede.match(text, 0):
        order[0:2] = [1, 0]  # the scan consumes a preceding char before it tries the start of text
    return order, domains, may_precede


def _x_domain_ok(domain: str) -> bool:
    """twitter-text's light IDNA check: every label 1..63 chars once punycode-encoded."""
    if domain[:4].lower() == "xn--" and not _x_ascii_domain().search(domain):
        return False
    for label in domain.split("."):
        try:
            encoded = label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        except UnicodeError:
            return False
        if not 1 <= len(encoded) <= 63:
            return False
    return True


def _x_extract_urls(text: str, with_scheme_only: bool = False) -> list[tuple[int, int, str]]:
    """twitter-text's URL extraction: (start, end, url as written) on `text`."""
    if "." not in text:
        return []
    url_re, tco_re = _x_url_patterns()
    starts, domain_starts, may_precede = _x_url_starts(text)
    found: list[tuple[int, int, str]] = []
    resume = 0  # the next match must begin after the char that follows the last one
    skip_from, skip_to = 0, -1
    for start in starts:
        if start < resume or skip_from < start <= skip_to:
            continue
        if start > 0 and not may_precede.match(text, start - 1):
            continue
        match = url_re.match(text, start)
        if match is None:
            if start in domain_starts:
                # Later starts in the same label fail the same way: the labels after it are the
                # same. Only a '_' changes that (subdomains allow it, the last label does not).
                label_end = text.find(".", start)
                underscore = text.rfind("_", start, label_end)
                skip_from, skip_to = start, underscore if underscore >= 0 else label_end
            continue
        resume = match.end() + 1
        url, scheme, domain = match.group(), match.group("scheme"), match.group("domain")
        end = match.end()
        if not _x_domain_ok(domain) or len(scheme or "https://") + len(url) > 4096:
            continue
        if scheme:
            tco = tco_re.match(url)
            if tco:
                if len(tco.group("slug")) > 40:
                    continue
                url, end = tco.group(), start + len(tco.group())
            found.append((start, end, url))
            continue
        if with_scheme_only or (start > 0 and text[start - 1] in "-_./"):
            continue
        last: tuple[int, int, str] | None = None
        for ascii_match in _x_ascii_domain().finditer(domain):
            last = (start + ascii_match.start(), start + ascii_match.end(), ascii_match.group())
            found.append(last)
        if last is not None and match.group("path"):
            found[-1] = (last[0], end, url.replace(domain, last[2], 1))
    return found


def x_url_spans(text: str) -> list[tuple[int, int, str]]:
    """URLs X counts as 23 (with or without scheme): (start, end, full_url), https:// added if bare."""
    return [(start, end, url if "://" in url[:8] else "https://" + url)
            for start, end, url in _x_extract_urls(text)]


_EMOJI_ELEMENT = (r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}|(?![#*0-9])\p{Emoji}\ufe0f"
                  r"|\p{Emoji_Presentation}\p{Emoji_Modifier}?)")
# Keycaps, subdivision flags, country flags, then any (ZWJ-joined) emoji with its modifiers.
_EMOJI_SEQUENCE = (r"[#*0-9]\ufe0f?\u20e3|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f|\p{RI}\p{RI}"
                   rf"|{_EMOJI_ELEMENT}(?:\u200d{_EMOJI_ELEMENT})*")


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """Fully qualified emoji sequences; text-style characters like a bare © are not emoji."""
    return [match.span() for match in _compile(_EMOJI_SEQUENCE).finditer(text)]


def x_parse(text: str, config: str = "v3") -> dict[str, Any]:
    """twitter-text parseTweet: weightedLength, valid, permillage and the valid/display ranges (UTF-16)."""
    try:
        options = _X_CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown twitter-text config {config!r}; use one of {sorted(_X_CONFIGS)}") from None
    normalized = nfc(text)
    urls = {start: end for start, end, _ in _x_extract_urls(normalized)}
    emoji = dict(emoji_spans(normalized)) if options["emoji"] else {}
    scale, limit = options["scale"], options["max"] * options["scale"]
    weighted = 0
    valid = True
    valid_display_end = 0
    index = utf16_index = 0
    while index < len(normalized):
        end = urls.get(index) or emoji.get(index)
        if end is not None:
            weighted += options["url_length"] * scale if index in urls else options["default_weight"]
        else:
            end = index + 1
            weighted += _x_char_weight(normalized[index], options)
        token = normalized[index:end]
        utf16_index += utf16_len(token)
        if valid:
            valid = token[-1] not in _X_INVALID_CHARS
        if valid and weighted <= limit:
            valid_display_end = utf16_index - 1
        index = end
    weighted_length = weighted // scale if weighted % scale == 0 else weighted / scale
    return {
        "weightedLength": weighted_length,
        "valid": valid and 0 < weighted_length <= options["max"],
        "permillage": int(weighted_length * 1000 // options["max"]),
        "validRangeStart": 0,
        "validRangeEnd": valid_display_end + utf16_len(text) - utf16_len(normalized),
        "displayRangeStart": 0,
        "displayRangeEnd": max(utf16_len(text) - 1, 0),
    }


def _x_char_weight(char: str, options: dict[str, Any]) -> int:
    code = ord(char)
    if code <= 0xFFFF:  # astral characters are weighed by a surrogate, which no range covers
        for first, last, weight in options["ranges"]:
            if first <= code <= last:
                return weight
    return options["default_weight"]


_X_LIGHT_CHARS = "[\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]"  # v3 ranges of weight 100


def x_length(text: str) -> int:
    """X's weighted length (twitter-text v3): limit 280. The same sum as x_parse, taken over runs of
    plain text at once instead of character by character (the renderer measures often)."""
    normalized = nfc(text)
    tokens = {start: (end, 2300) for start, end, _ in _x_extract_urls(normalized)}
    for start, end in emoji_spans(normalized):
        tokens.setdefault(start, (end, 200))
    light = re.compile(_X_LIGHT_CHARS)
    weighted = position = 0
    for start in sorted(tokens) + [len(normalized)]:
        if start < position:
            continue  # inside a URL or emoji already counted
        run = normalized[position:start]
        light_count = len(light.findall(run))
        weighted += light_count * 100 + (len(run) - light_count) * 200
        if start == len(normalized):
            break
        end, weight = tokens[start]
        weighted += weight
        position = end
    return weighted // 100 if weighted % 100 == 0 else weighted / 100


# ---------------------------------------------------------------------------------------------
# Mastodon and Threads

_MASTODON_REMOTE_MENTION = r"(?<![/\w])@([a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)@[\w.\-]+\w"


def mastodon_length(text: str, url_length: int = 23) -> int:
    """Mastodon's StatusLengthValidator: graphemes, each http(s) URL = url_length, @user@domain = @user."""
    pieces, position = [], 0
    for start, end, _ in _x_extract_urls(text, with_scheme_only=True):
        pieces += [text[position:start], "x" * url_length]
        position = end
    pieces.append(text[position:])
    countable = _compile(_MASTODON_REMOTE_MENTION, _regex().IGNORECASE).sub(r"@\1", "".join(pieces))
    return grapheme_len(countable)


_EMOJI_PART = r"[\p{Extended_Pictographic}\p{RI}\p{Emoji_Modifier}\u20e3\ufe0f]"


def threads_length(text: str) -> int:
    """Threads: emoji count as their UTF-8 bytes (documented); other characters as code points.

    Any grapheme cluster holding a pictograph, flag letter, skin tone, keycap or emoji selector is
    counted as bytes, text-style pictographs too: over-counting only makes posts a little shorter.
    """
    has_emoji = _compile(_EMOJI_PART)
    if has_emoji.search(text) is None:
        return len(text)  # no emoji: every cluster counts its code points, so the sum is the length
    return sum(utf8_len(cluster) if has_emoji.search(cluster) else len(cluster) for cluster in graphemes(text))


# ---------------------------------------------------------------------------------------------
# Bluesky: facets as @atproto/api RichText.detectFacetsWithoutResolution finds them

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
    offsets = _utf8_offsets(text)
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
    offsets = _utf8_offsets(display_text)
    return display_text, [_facet(offsets, start, end, feature) for start, end, feature in shown]


def bluesky_length(text: str) -> tuple[int, int]:
    """(graphemes, UTF-8 bytes): a post must stay within 300 and 3000."""
    return grapheme_len(text), utf8_len(text)


# ---------------------------------------------------------------------------------------------
# Cut points

_SENTENCE_END = (r"[.!?\u2026\u203c\u2047-\u2049]+[\"'\u2019\u201d\u00bb)\]]*(?=\s|$)"
                 r"|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09]*")
# A period after these is rarely a sentence end; imperfect by nature, and cutting late is harmless.
_ABBREVIATIONS = frozenset("e.g i.e vs etc al cf mr mrs ms dr st jr sr prof fig approx".split())
_INITIALS = r"\p{Lu}(?:\.\p{Lu})*"   # "J." or "U.S."


def _inside(index: int, spans: list[tuple[int, int, str]]) -> bool:
    return any(start < index < end for start, end, _ in spans)


def _protected_spans(text: str) -> list[tuple[int, int, str]]:
    return url_spans(text, schemeless=True) + _x_extract_urls(text)


def sentence_cuts(text: str) -> list[int]:
    """Str indices right after each sentence end, ascending; never inside a URL or a number."""
    urls = _protected_spans(text)
    cuts: list[int] = []
    for match in _compile(_SENTENCE_END).finditer(text):
        end = match.end()
        if _inside(end, urls) or _inside(match.start(), urls):
            continue
        if match.group() == ".":
            word = _compile(r"[\w.]+$").search(text, max(0, match.start() - 40), match.start())  # abbreviations are short
            if word and (word.group().lower() in _ABBREVIATIONS or _compile(_INITIALS).fullmatch(word.group())):
                continue
        if end > 0 and (not cuts or cuts[-1] != end):
            cuts.append(end)
    return cuts


_NO_SPACE_SCRIPT = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\u30fc\u3005]"


@cache
def _budoux_parser(language: str):
    import budoux

    loaders = {"ja": budoux.load_default_japanese_parser, "zh-hans": budoux.load_default_simplified_chinese_parser,
               "zh-hant": budoux.load_default_traditional_chinese_parser, "th": budoux.load_default_thai_parser}
    return loaders[language]()


def _budoux_language(run: str, lang: str | None) -> str:
    hint = (lang or "").lower().replace("_", "-")
    regex = _regex()
    if regex.search(r"\p{Thai}", run):
        return "th"
    if regex.search(r"[\p{Hiragana}\p{Katakana}]", run) or hint.startswith("ja"):
        return "ja"
    if hint.startswith("zh") and any(tag in hint for tag in ("hant", "-tw", "-hk", "-mo")):
        return "zh-hant"
    return "zh-hans"


def word_cuts(text: str, lang: str | None = None) -> list[int]:
    """Str indices where a word-level cut is allowed, ascending, inside (0, len(text)).

    At whitespace the cut sits at the end of the word before it. Inside runs of Japanese, Chinese or
    Thai it falls only between BudouX phrases. Never inside a URL or a grapheme cluster.
    """
    urls = _protected_spans(text)
    boundaries = _grapheme_starts(text)
    cuts: set[int] = set()
    for space in _compile(r"[^\S\u00a0\u2007\u202f]+").finditer(text):  # no-break spaces mean it
        cuts.add(space.start())
    for run in _compile(rf"\S*{_NO_SPACE_SCRIPT}\S*").finditer(text):
        offset = run.start()
        for phrase in _budoux_parser(_budoux_language(run.group(), lang)).parse(run.group())[:-1]:
            offset += len(phrase)
            cuts.add(offset)
    return sorted(cut for cut in cuts
                  if 0 < cut < len(text) and cut in boundaries and not _inside(cut, urls))


_CUT_TRAILING = ",;:-\u2013\u2014/([{\u201c\u2018\u00ab\u3001\uff0c"


def cut(text: str, index: int, ellipsis: bool = True) -> str:
    """text[:index] without trailing spaces or joining punctuation, plus '…' when ellipsis."""
    prefix, previous = text[:index], None
    while prefix != previous:
        previous, prefix = prefix, prefix.rstrip().rstrip(_CUT_TRAILING)
    return prefix + "\u2026" if ellipsis else prefix


# ---------------------------------------------------------------------------------------------
# Hygiene: text that was decoded with the wrong charset

# Only the two letters the real input showed have a known meaning: an em dash and a lost emoji.
_KNOWN_STRAY_REPAIRS = frozenset("\u03b2\u03c0")


def _ftfy_config():
    import ftfy

    # Keep curly quotes, full-width forms and ligatures: those are the author's, not mis-decoding.
    return ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, fix_latin_ligatures=False)


def _is_stray_letter(char: str) -> bool:
    return "\u0370" <= char <= "\u03ff" or "\u0400" <= char <= "\u04ff"


def _stray_letters(line: str) -> list[int]:
    """Columns of lone Greek/Cyrillic letters glued into Latin text or dangling at its line end."""
    found = []
    for column, char in enumerate(line):
        if not (_is_stray_letter(char) and char.isalpha()):
            continue
        before, after = line[column - 1:column], line[column + 1:column + 2]
        if _is_stray_letter(before) or _is_stray_letter(after):
            continue  # a real Greek or Cyrillic word
        if len(_compile(r"\p{Latin}").findall(line, 0, column)) < 2:
            continue
        glued_after = before.isalnum() or before in ")]}\"'"
        dangling = before in (" ", "\t") and line[:column].rstrip()[-1:] not in ("", "=", "+", "-", "*", "/")
        ends_word = after == "" or after.isspace()
        if (before.isalpha() and after.isalpha() and before.isascii() and after.isascii()) \
                or (ends_word and (glued_after or (dangling and not line[column + 1:].strip()))):
            found.append(column)
    return found


_MOJIBAKE_PAIR = ("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
                  "\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")


def mojibake(text: str) -> list[tuple[int, int, str, str | None]]:
    """(line, column, snippet, suggested repair or None) for each sign of mis-decoded text, 1-based."""
    # UTF-8 read as cp1252/latin-1 always leaves a lead-byte letter (Â..ô) before a continuation-byte
    # character; without one, ftfy (a tenth of a second to import) has nothing to find.
    classic = _compile(_MOJIBAKE_PAIR).search(text) is not None
    if classic:
        import ftfy
        from ftfy.badness import BADNESS_RE
        config = _ftfy_config()
    findings: list[tuple[int, int, str, str | None]] = []
    for line_number, line in enumerate(text.split("\n"), start=1):
        flagged: set[int] = set()
        for match in _compile(r"[\ufffd\x80-\x9f]").finditer(line):
            flagged.add(match.start())
            findings.append((line_number, match.start() + 1, line[max(match.start() - 10, 0):match.end() + 10], None))
        for match in (_compile(r"\S+").finditer(line) if classic else ()):
            word = match.group()
            bad = BADNESS_RE.search(word)
            if bad and not any(match.start() <= column < match.end() for column in flagged):
                flagged.add(match.start())
                fixed = ftfy.fix_text(word, config)
                suggestion = fixed if fixed != word and "\ufffd" not in fixed else None
                findings.append((line_number, match.start() + bad.start() + 1, word, suggestion))
        for column in _stray_letters(line):
            word_start = _compile(r"\S*$").search(line, 0, column).start()
            if word_start in flagged:
                continue
            # Show the word the letter is glued to, or the word before a dangling one.
            anchor = len(line[:column].rstrip()) if word_start == column else column
            start = _compile(r"\S*$").search(line, 0, anchor).start()
            end = _compile(r"\S*").match(line, column + 1).end()
            snippet = line[start:end]
            suggestion = None
            if line[column] in _KNOWN_STRAY_REPAIRS:
                fixed = _repair_letter(line, column)
                suggestion = fixed[start:end + len(fixed) - len(line)]
            findings.append((line_number, column + 1, snippet, suggestion))
    return sorted(findings)


def _repair_letter(line: str, column: int) -> str:
    letter, head, tail = line[column], line[:column], line[column + 1:]
    if letter == "\u03b2" and tail[:1].isalpha():
        return head + "\u2014" + tail  # glued between two words: it was an em dash
    if letter == "\u03c0":
        return (head.rstrip(" \t") if not tail.strip() else head) + tail  # a lost emoji: drop it
    return line


def _repair_stray(text: str) -> str:
    lines = text.split("\n")
    for number, line in enumerate(lines):
        for column in reversed(_stray_letters(line)):
            line = _repair_letter(line, column)
        lines[number] = line
    return "\n".join(lines)


def repair(text: str) -> str:
    """Undo mis-decoding: ftfy for classic mojibake, then the known stray β (em dash) and π (removed).

    Other stray Greek or Cyrillic letters are left alone (mojibake() still reports them): their
    meaning cannot be guessed safely.
    """
    import ftfy

    return _repair_stray(ftfy.fix_text(text, _ftfy_config()))
