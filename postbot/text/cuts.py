"""Where a teaser may be cut: sentence ends, word (or BudouX phrase) boundaries, and the cut itself.

Never inside a URL, a number, a grapheme cluster or an emoji sequence.
"""
from __future__ import annotations

from functools import cache

from postbot.text.units import _compile, _regex, grapheme_starts, url_spans
from postbot.text.x import x_extract_urls


_SENTENCE_END = (r"[.!?\u2026\u203c\u2047-\u2049]+[\"'\u2019\u201d\u00bb)\]]*(?=\s|$)"
                 r"|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09]*")
# A period after these is rarely a sentence end; imperfect by nature, and cutting late is harmless.
_ABBREVIATIONS = frozenset("e.g i.e vs etc al cf mr mrs ms dr st jr sr prof fig approx".split())
_INITIALS = r"\p{Lu}(?:\.\p{Lu})*"   # "J." or "U.S."


def _inside(index: int, spans: list[tuple[int, int, str]]) -> bool:
    return any(start < index < end for start, end, _ in spans)


def _protected_spans(text: str) -> list[tuple[int, int, str]]:
    return url_spans(text, schemeless=True) + x_extract_urls(text)


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
    boundaries = grapheme_starts(text)
    cuts: set[int] = set()
    for space in _compile(r"[^\S\u00a0\u2007\u202f]+").finditer(text):  # no-break spaces mean it
        cuts.add(space.start())
    no_space_script = _compile(_NO_SPACE_SCRIPT)
    # Whole words first, then a look for a no-space script inside each: `\S*[script]\S*` would
    # backtrack over every start of a long word without one (quadratic: 40k letters took 47 s).
    for run in _compile(r"\S+").finditer(text):
        if not no_space_script.search(run.group()):
            continue
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
