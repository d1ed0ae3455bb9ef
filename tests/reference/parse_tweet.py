"""twitter-text's parseTweet, character by character, over postbot's own URL extraction and emoji
spans: the shape the official conformance data (validate.yml) is written in.

postbot itself only needs the weighted length, which postbot.text.x.x_length sums faster over runs;
the conformance tests check both this parse and that x_length agrees with its weightedLength.
"""
from __future__ import annotations

from typing import Any

from postbot.text import emoji_spans, nfc, utf16_len, x

_X_CONFIGS: dict[str, dict[str, Any]] = {
    "v1": {"max": 140, "scale": 1, "default_weight": 1, "url_length": 23, "emoji": False, "ranges": ()},
    "v2": {"max": 280, "scale": 100, "default_weight": 200, "url_length": 23, "emoji": False,
           "ranges": ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))},
}
_X_CONFIGS["v3"] = {**_X_CONFIGS["v2"], "emoji": True}
for _short, _long in (("v1", "version1"), ("v2", "version2"), ("v3", "version3"), ("v3", "defaults")):
    _X_CONFIGS[_long] = _X_CONFIGS[_short]


def parse_tweet(text: str, config: str = "v3") -> dict[str, Any]:
    """twitter-text parseTweet: weightedLength, valid, permillage and the valid/display ranges (UTF-16)."""
    try:
        options = _X_CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown twitter-text config {config!r}; use one of {sorted(_X_CONFIGS)}") from None
    normalized = nfc(text)
    urls = {start: end for start, end, _ in x.x_extract_urls(normalized)}
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
            valid = token[-1] not in x._X_INVALID_CHARS
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
