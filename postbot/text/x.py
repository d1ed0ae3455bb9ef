"""X's counting: twitter-text v3 URL extraction and weighted length, with its own TLD list.

Re-implemented (config/v3.json, parseTweet, extractUrlsWithIndices) so the first count costs
milliseconds instead of the PyPI port's half second of import.
"""
from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from postbot.text.units import _compile, _regex, emoji_spans, nfc, utf16_len


def _x_tlds() -> tuple[list[str], list[str]]:
    from postbot.text.x_tlds import COUNTRY_TLDS, GENERIC_TLDS

    return GENERIC_TLDS.split(), COUNTRY_TLDS.split()


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


_X_D = _X_DOMAIN_CHAR
# Labels start and end with a domain char; possessive loops keep long runs of letters linear.
_X_SUBDOMAIN = rf"(?:{_X_D}(?:[_\-]*+{_X_D})*+\.)"
_X_DOMAIN_NAME = rf"(?:{_X_D}(?:-*+{_X_D})*+\.)"
_X_PATH_CHAR = rf"[a-z{_X_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_X_LATIN_ACCENTS}]"
_X_PARENS = rf"\((?:{_X_PATH_CHAR}+|(?:{_X_PATH_CHAR}*\({_X_PATH_CHAR}+\){_X_PATH_CHAR}*))\)"
_X_PATH_END = rf"(?:[+\-a-z{_X_CYRILLIC}0-9=_#/{_X_LATIN_ACCENTS}]|{_X_PARENS})"
_X_PATH = rf"(?:(?:{_X_PATH_CHAR}*(?:{_X_PARENS}{_X_PATH_CHAR}*)*{_X_PATH_END})|(?:@{_X_PATH_CHAR}+/))"
_X_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_X_QUERY_END = r"[a-z0-9\-_&=#/]"
_X_REST = (rf"(?::(?P<port>[0-9]+))?(?P<path>/{_X_PATH}*)?"
           rf"(?P<query>\?{_X_QUERY_CHAR}*{_X_QUERY_END})?")


@lru_cache(maxsize=8)
def _x_url_pattern(tlds: tuple[str, ...]):
    """twitter-text's URL pattern with only `tlds` in its TLD alternation (see _x_tlds_in)."""
    domain = rf"(?:{_X_SUBDOMAIN}*{_X_DOMAIN_NAME}{_x_tld(tlds)})"
    return re.compile(rf"(?P<scheme>https?://)?(?P<domain>{domain}){_X_REST}", re.IGNORECASE)


@lru_cache(maxsize=8)
def _x_last_label_pattern(tlds: tuple[str, ...]):
    """The URL pattern without subdomains: what is left to try after a label's last '_'.

    Compiled only when needed (rarely): each of these patterns costs milliseconds to compile.
    """
    return re.compile(rf"(?P<scheme>https?://)?(?P<domain>{_X_DOMAIN_NAME}{_x_tld(tlds)}){_X_REST}",
                      re.IGNORECASE)


@cache
def _x_tco_pattern():
    return re.compile(rf"^https?://t\.co/(?P<slug>[a-z0-9]+)(?:\?{_X_QUERY_CHAR}*{_X_QUERY_END})?",
                      re.IGNORECASE)


@lru_cache(maxsize=8)
def _x_ascii_domain(tlds: tuple[str, ...]):
    """The ASCII part of a domain: the only part twitter-text links when the scheme is missing."""
    return re.compile(rf"(?:(?:[\-a-z0-9{_X_LATIN_ACCENTS}]+)\.)+{_x_tld(tlds)}", re.IGNORECASE)


def _x_tld(tlds: tuple[str, ...]) -> str:
    names = "|".join(map(re.escape, sorted(tlds, key=lambda name: (-len(name), name)))) or "(?!)"
    return rf"(?:(?:{names})(?=[^0-9a-zA-Z@+\-]|$)|xn--[\-0-9a-z]+)"


@cache
def _x_tld_index() -> tuple[frozenset[str], int, dict[str, str | None]]:
    """The TLD names, the longest one's length, and the ASCII chars folded to the TLD char they match.

    TLD chars are lowercase, ASCII ones are a-z, and no non-ASCII TLD char matches an ASCII char
    under re.IGNORECASE (tests check all three against _x_tld_char_folder), so ASCII folds by lower().
    """
    generic, country = _x_tlds()
    names = frozenset(generic + country)
    folded = {chr(code): chr(code).lower() if chr(code).isalpha() else None for code in range(128)}
    return names, max(map(len, names)), folded


@cache
def _x_tld_char_folder():
    """One group per char used in any TLD, matched with re.IGNORECASE: a text char folds to the TLD
    char it matches exactly as the URL pattern's literal would (no two TLD chars are case variants
    of each other). Compiled only when a non-ASCII char follows a '.'."""
    chars = sorted(set("".join(_x_tld_index()[0])))
    fold = re.compile("|".join(f"(?P<c{index}>{re.escape(char)})" for index, char in enumerate(chars)),
                      re.IGNORECASE)
    return fold, chars


def _x_fold_tld_char(char: str) -> str | None:
    fold, chars = _x_tld_char_folder()
    match = fold.fullmatch(char)
    return chars[int(match.lastgroup[1:])] if match else None


def _x_tlds_in(text: str) -> tuple[str, ...]:
    """The TLDs that the URL pattern's TLD alternation could match anywhere in `text`.

    A TLD follows a '.', so only the chars after each '.' are folded and looked up. The patterns are
    then compiled with these names only: a name that occurs nowhere in the text can match nothing,
    so the matches are the same as with all 1,574, whose alternation took ~0.1 s to compile.
    """
    names, longest, folded = _x_tld_index()
    found: set[str] = set()
    dot = text.find(".")
    while dot >= 0:
        name = ""
        for char in text[dot + 1:dot + 1 + longest]:
            tld_char = folded[char] if char in folded else folded.setdefault(char, _x_fold_tld_char(char))
            if tld_char is None:
                break
            name += tld_char
            if name in names:
                found.add(name)
        dot = text.find(".", dot + 1)
    return tuple(sorted(found))


@cache
def _x_char_classes():
    # Plain classes: stdlib re, several times faster here than `regex` (possessive loops need 3.11).
    compile_ = re.compile
    d = _X_DOMAIN_CHAR
    return (compile_(rf"[^A-Za-z0-9@\uff20$#\uff03{_X_INVALID_CHARS}]"),  # may precede a URL
            compile_(rf"(?:{d}|[_\-])++"),                             # a run that can hold labels
            compile_(rf"{d}(?:[_\-]*+{d})*+\."))                        # one subdomain label and its dot


def _x_url_starts(text: str):
    """Where twitter-text's URL regex could begin a match, in the order its scan tries them.

    The regex itself is tried only there: scanning every position of a long run of letters (a
    Japanese paragraph has no spaces) would make it quadratic. A domain begins in a run of label
    characters that reaches a '.', or a scheme begins.
    """
    may_precede, label_run, _ = _x_char_classes()
    schemes = {match.start() for match in _compile(r"https?://", _regex().IGNORECASE).finditer(text)}
    domains: set[int] = set()
    labels: list[tuple[int, int]] = []
    # The runs that reach a '.', read backwards from each '.' (a run holds no '.'): only the text
    # before the dots is scanned, once.
    backwards, last = text[::-1], len(text) - 1
    dot = text.find(".")
    while dot >= 0:
        run = label_run.match(backwards, last - dot + 1)
        if run is not None:
            labels.append((dot - len(run.group()), dot))
            domains.update(range(dot - len(run.group()), dot))
        dot = text.find(".", dot + 1)
    order = sorted(schemes | domains)
    if order[:2] == [0, 1] and may_precede.match(text, 0):
        order[0:2] = [1, 0]  # the scan consumes a preceding char before it tries the start of text
    return order, domains, may_precede, labels


def _x_domain_ok(domain: str) -> bool:
    """twitter-text's light IDNA check: every label 1..63 chars once punycode-encoded."""
    if domain[:4].lower() == "xn--" and not _x_ascii_domain(_x_covering(_x_tlds_in(domain))).search(domain):
        return False
    for label in domain.split("."):
        try:
            encoded = label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        except UnicodeError:
            return False
        if not 1 <= len(encoded) <= 63:
            return False
    return True


def _fail_following_labels(text: str, start: int, subdomain_label, failed: set[int]) -> None:
    """Mark the starts of the labels after `start` as settled: no new match can begin there.

    A domain found from a later label start L would also be found from `start`, with the labels
    in between as subdomains: no match from `start` means none from L, and a match from `start`
    already reached as far as any from L could. Without this, a run like `a.a.a.…` is scanned to
    its end from every label (5,000 characters took 44 s).
    """
    position = start
    while True:
        label = subdomain_label.match(text, position)
        if label is None:
            return
        position = label.end()
        failed.add(position)


def _in_failed_label(text: str, start: int, labels: list[tuple[int, int]], failed: set[int]) -> str:
    """'skip', 'last' or 'try' for a start inside a label whose start is known to fail.

    As within the first label: a later start fails as its label's start did, except after the
    label's last '_', where the rest may be the domain's last label (which allows no '_'). Only
    that shape is left to try there (`last`): every longer one was tried from the label's start.
    """
    from bisect import bisect_right

    index = bisect_right(labels, (start, len(text) + 1)) - 1
    if index < 0 or labels[index][0] not in failed or not labels[index][0] <= start < labels[index][1]:
        return "try"
    label_start, label_end = labels[index]
    underscore = text.rfind("_", label_start, label_end)
    return "skip" if underscore < 0 or start <= underscore else "last"


# Common TLDs the patterns hold from the start, so that a cold preview compiles them once.
_X_COMMON_TLDS = frozenset("com org net io co app dev social me info uk de fr eu ly be to tv ai us ca".split())
_x_cover: tuple[frozenset[str], tuple[str, ...]] = (frozenset(), ())


def _x_covering(found: tuple[str, ...]) -> tuple[str, ...]:
    """Every TLD found so far in this process (`found` included) and the common ones, for the
    patterns' alternation.

    Extra names match nothing more (see _x_tlds_in), so one compiled pattern serves every later text
    whose TLDs it holds: the candidates of a render, which differ in their TLDs, share it.
    """
    global _x_cover
    names, ordered = _x_cover
    if not names.issuperset(found):
        names = names.union(found, _X_COMMON_TLDS & _x_tld_index()[0])
        _x_cover = names, ordered = names, tuple(sorted(names))
    return ordered


def x_extract_urls(text: str, with_scheme_only: bool = False) -> list[tuple[int, int, str]]:
    """twitter-text's URL extraction: (start, end, url as written) on `text`."""
    if "." not in text:
        return []
    found_tlds = _x_tlds_in(text)
    if not found_tlds and ".xn--" not in text.lower():
        return []  # a domain ends in a TLD right after a '.', and none is there
    tlds = _x_covering(found_tlds)
    url_re = _x_url_pattern(tlds)
    starts, domain_starts, may_precede, labels = _x_url_starts(text)
    subdomain_label = _x_char_classes()[2]
    failed_labels: set[int] = set()
    found: list[tuple[int, int, str]] = []
    resume = 0  # the next match must begin after the char that follows the last one
    skip_from, skip_to = 0, -1
    for start in starts:
        if start < resume or skip_from < start <= skip_to:
            continue
        if start > 0 and not may_precede.match(text, start - 1):
            continue
        shape = _in_failed_label(text, start, labels, failed_labels) if failed_labels else "try"
        if shape == "skip":
            continue
        match = (_x_last_label_pattern(tlds) if shape == "last" else url_re).match(text, start)
        if match is None:
            if start in domain_starts:
                # Later starts in the same label fail the same way: the labels after it are the
                # same. Only a '_' changes that (subdomains allow it, the last label does not).
                label_end = text.find(".", start)
                underscore = text.rfind("_", start, label_end)
                skip_from, skip_to = start, underscore if underscore >= 0 else label_end
                if shape == "try":
                    _fail_following_labels(text, start, subdomain_label, failed_labels)
            continue
        if shape == "try" and start in domain_starts:
            # The match took the longest domain its labels allow, so a later label can begin
            # no longer one: each of them is settled as if it had failed.
            _fail_following_labels(text, start, subdomain_label, failed_labels)
        resume = match.end() + 1
        url, scheme, domain = match.group(), match.group("scheme"), match.group("domain")
        end = match.end()
        if not _x_domain_ok(domain) or len(scheme or "https://") + len(url) > 4096:
            continue
        if scheme:
            tco = _x_tco_pattern().match(url)
            if tco:
                if len(tco.group("slug")) > 40:
                    continue
                url, end = tco.group(), start + len(tco.group())
            found.append((start, end, url))
            continue
        if with_scheme_only or (start > 0 and text[start - 1] in "-_./"):
            continue
        last: tuple[int, int, str] | None = None
        for ascii_match in _x_ascii_domain(tlds).finditer(domain):
            last = (start + ascii_match.start(), start + ascii_match.end(), ascii_match.group())
            found.append(last)
        if last is not None and match.group("path"):
            found[-1] = (last[0], end, url.replace(domain, last[2], 1))
    return found


def x_url_spans(text: str) -> list[tuple[int, int, str]]:
    """URLs X counts as 23 (with or without scheme): (start, end, full_url), https:// added if bare."""
    return [(start, end, url if "://" in url[:8] else "https://" + url)
            for start, end, url in x_extract_urls(text)]


def x_parse(text: str, config: str = "v3") -> dict[str, Any]:
    """twitter-text parseTweet: weightedLength, valid, permillage and the valid/display ranges (UTF-16)."""
    try:
        options = _X_CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown twitter-text config {config!r}; use one of {sorted(_X_CONFIGS)}") from None
    normalized = nfc(text)
    urls = {start: end for start, end, _ in x_extract_urls(normalized)}
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
    return x_length_from_weight(x_weight(text))


def x_length_from_weight(weight: int) -> int:
    """A weight in hundredths (x_weight) as X's weighted length: whole when it is whole."""
    return weight // 100 if weight % 100 == 0 else weight / 100


def x_weight(text: str) -> int:
    """X's weighted length in hundredths. It adds up over pieces split before a line feed: no URL,
    emoji or NFC composition spans one, and a line feed or the text's end stop a match alike."""
    normalized = nfc(text)
    tokens = {start: (end, 2300) for start, end, _ in x_extract_urls(normalized)}
    for start, end in emoji_spans(normalized):
        tokens.setdefault(start, (end, 200))
    weighted = position = 0
    for start in sorted(tokens) + [len(normalized)]:
        if start < position:
            continue  # inside a URL or emoji already counted
        run = normalized[position:start]
        light_count = len(run) if run.isascii() else len(re.findall(_X_LIGHT_CHARS, run))
        weighted += light_count * 100 + (len(run) - light_count) * 200
        if start == len(normalized):
            break
        end, weight = tokens[start]
        weighted += weight
        position = end
    return weighted
