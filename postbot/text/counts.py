"""Mastodon's and Threads' length rules."""
from __future__ import annotations

from postbot.text.units import _compile, _regex, grapheme_len, graphemes, utf8_len
from postbot.text.x import x_extract_urls


_MASTODON_REMOTE_MENTION = r"(?<![/\w])@([a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)@[\w.\-]+\w"


def mastodon_length(text: str, url_length: int = 23) -> int:
    """Mastodon's StatusLengthValidator: graphemes, each http(s) URL = url_length, @user@domain = @user."""
    pieces, position = [], 0
    for start, end, _ in x_extract_urls(text, with_scheme_only=True):
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
    if text.isascii():
        return len(text)  # no emoji part is ASCII
    has_emoji = _compile(_EMOJI_PART)
    if has_emoji.search(text) is None:
        return len(text)  # no emoji: every cluster counts its code points, so the sum is the length
    return sum(utf8_len(cluster) if has_emoji.search(cluster) else len(cluster) for cluster in graphemes(text))
