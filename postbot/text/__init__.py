"""Counting and cutting text exactly as each platform does; one import for all of it.

Every length limit, link detection and cut point postbot uses comes from this package, so the
renderer, the preview and the platforms can never disagree:

* units.py     graphemes, UTF-8/UTF-16 lengths, top-level domains, plain URL and emoji spans
* x.py         twitter-text v3: X's URL extraction and weighted length (x_tlds.py: its TLD list)
* counts.py    Mastodon's and Threads' length rules
* bluesky.py   Bluesky facets at UTF-8 byte offsets, links shortened as the app shows them
* cuts.py      sentence ends, word and phrase boundaries, the cut itself
* decoding.py  mis-decoded text (mojibake): finding it and repairing what is safe
* hashtags.py  which hashtag each platform links for a post's tag (imported on its own)

Heavy modules (regex, ftfy, budoux, publicsuffixlist) are imported on first use: the CLI's preview
path imports this package and must start fast. Indices are Python `str` indices (code points)
unless a name says otherwise (`byteStart`, UTF-16).
"""
from postbot.text.bluesky import LINK, TAG, bluesky_detect, bluesky_display, bluesky_facets, short_url
from postbot.text.counts import mastodon_length, threads_length
from postbot.text.cuts import cut, sentence_cuts, word_cuts
from postbot.text.decoding import mojibake, repair
from postbot.text.units import (compiled_regex, emoji_spans, find_urls, grapheme_len, grapheme_starts, graphemes,
                                iana_tlds, nfc, url_spans, utf8_len, utf16_len)
from postbot.text.x import x_extract_urls, x_length, x_length_from_weight, x_parse, x_url_spans, x_weight

__all__ = ["LINK", "TAG", "bluesky_detect", "bluesky_display", "bluesky_facets", "compiled_regex", "cut", "emoji_spans",
           "find_urls", "grapheme_len", "grapheme_starts", "graphemes", "iana_tlds", "mastodon_length", "mojibake", "nfc",
           "repair", "sentence_cuts", "short_url", "threads_length", "url_spans", "utf8_len", "utf16_len",
           "word_cuts", "x_extract_urls", "x_length", "x_length_from_weight", "x_parse", "x_url_spans", "x_weight"]
