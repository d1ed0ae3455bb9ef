"""Hashtags decided per platform, the way each platform's own parser reads them.

A post lists its tags once (`tags: [Récupération, योग, 筋トレ]`); every platform then gets the
tag it can link:

* X: twitter-text's hashtag rule (letters, marks and digits of any script, `_` and a few
  joiners such as ZWNJ/ZWJ and the middle dot; at least one letter or mark; never emoji).
* Mastodon: its `Tag::HASHTAG_RE` (Ruby `[[:word:]]`, i.e. Alphabetic, marks, digits, `_`
  and the join controls, plus the separators `·`, `・`, ZWNJ inside; at least one
  Alphabetic character).
* Bluesky: an `app.bsky.richtext.facet#tag` exactly where @atproto/api's RichText would put
  one (anything but spaces and a few invisible breakers, no trailing punctuation, not only
  digits, at most 64 UTF-16 units, which keeps it inside the lexicon's 64 graphemes).
* Threads: one topic tag per post (Meta's posts guide): the first usable tag, sent as
  `topic_tag`, 1-50 characters without `.` or `&`; the other tags are left out.
* Telegram: TDLib's hashtag rule (letters, digits, `_`, ZWNJ, `·`; marks kept with their
  letters; at least one letter; up to 256).
* LinkedIn, Facebook, Instagram: plain `#word` text (letters, marks, digits, `_`, ZWNJ/ZWJ;
  at least one letter). Their parsers are not documented: this is the common ground.
* Discord, Slack and generic webhooks show tags as plain text: nothing is clickable there.

A character that can never be part of a hashtag on a platform (an emoji on X) is dropped from
that platform's tag with a warning; a tag is refused only when nothing usable remains.
Invisible format characters are removed once, when the post is read (`clean_tag`).
"""
from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache

from postbot.text.bluesky import TAG, _bluesky_spans
from postbot.text.units import _compile, _regex, emoji_spans, nfc, utf16_len
from postbot.text.x import x_url_spans

# ---------------------------------------------------------------------------------------------
# Reading a tag from the post file

# Zero-width joiners are part of the spelling between letters of scripts that use them
# (Persian می‌خواهم, Sinhala ශ්‍රී); anywhere else they are invisible noise.
_JOINERS = "\u200c\u200d"
_ASCII_BREAKERS = frozenset(string.punctuation + string.whitespace) - {"_"}


def _is_invisible(char: str) -> bool:
    """Format characters (Cf) and variation selectors: nothing a reader can see."""
    code = ord(char)
    return (unicodedata.category(char) == "Cf" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF
            or code == 0x180E)


def _joins_letters(tag: str, index: int) -> bool:
    before, after = tag[index - 1:index], tag[index + 1:index + 2]
    if not before or not after:
        return False
    letter_or_mark = _compile(r"[\p{L}\p{M}]")
    latin = _compile(r"[\p{Latin}\p{Common}]")
    return bool(letter_or_mark.match(before) and letter_or_mark.match(after) and not latin.match(before))


def clean_tag(raw: str) -> tuple[str, list[str]]:
    """(tag, names of the invisible characters removed): NFC, no leading '#', no format characters.

    Characters that belong to an emoji (its ZWJ, variation selector, tag sequence) and joiners
    between letters of a script that writes them are kept.
    """
    tag = nfc(raw.strip()).lstrip("#\uff03")
    in_emoji = set()
    for start, end in emoji_spans(tag):
        in_emoji.update(range(start, end))
    kept, removed = [], []
    for index, char in enumerate(tag):
        if _is_invisible(char) and index not in in_emoji and not (char in _JOINERS and _joins_letters(tag, index)):
            removed.append(f"U+{ord(char):04X} {unicodedata.name(char, 'format character')}")
            continue
        kept.append(char)
    return "".join(kept), list(dict.fromkeys(removed))


def breaking_character(tag: str) -> str | None:
    """A space or ASCII punctuation mark: those end a hashtag on nearly every platform, so a tag
    holding one is a typing slip to fix in the post, not something to guess around."""
    return next((char for char in tag if char in _ASCII_BREAKERS or char.isspace()), None)


# ---------------------------------------------------------------------------------------------
# What each platform's parser accepts

# twitter-text js/src/regexp/hashtagSpecialChars.js
_X_SPECIAL = "_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"
_X_ALNUM = rf"[\p{{L}}\p{{M}}\p{{Nd}}{_X_SPECIAL}]"
_X_HASHTAG = (rf"(?:^|(?<=[\ufe0e\ufe0f])|(?<!{_X_ALNUM}|&))[#\uff03](?![\ufe0f\u20e3])"
              rf"(?P<tag>{_X_ALNUM}*[\p{{L}}\p{{M}}]{_X_ALNUM}*)")
_X_END = r"[#\uff03]|://"


def x_hashtags(text: str) -> list[tuple[int, int, str]]:
    """twitter-text extractHashtagsWithIndices: (start, end, tag) in str indices, '#' included."""
    regex = _regex()
    found = []
    for match in _compile(_X_HASHTAG, regex.IGNORECASE).finditer(text):
        if regex.match(_X_END, text[match.end():]):
            continue
        found.append((match.start(), match.end(), match.group("tag")))
    if not found:
        return []
    # removeOverlappingEntities: sorted by start, an entity overlapping the one before it goes.
    entities = sorted([(s, e, tag) for s, e, tag in found] + [(s, e, None) for s, e, _ in x_url_spans(text)],
                      key=lambda entity: entity[0])
    kept: list[tuple[int, int, str | None]] = []
    for entity in entities:
        if kept and kept[-1][1] > entity[0]:
            continue
        kept.append(entity)
    return [(s, e, tag) for s, e, tag in kept if tag is not None]


# mastodon app/models/concerns/tag/naming.rb. Onigmo's Unicode [[:word:]] is Alphabetic, marks,
# decimal digits, connector punctuation and the join controls; [[:alpha:]] is Alphabetic.
_M_WORD = r"[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]"
_M_ALPHA = r"\p{Alphabetic}"
_M_SEPARATORS = "_\u00b7\u30fb\u200c"
_M_FIRST = (rf"[\p{{Alphabetic}}\p{{M}}\p{{Nd}}\p{{Pc}}\p{{Join_Control}}_]"
            rf"[\p{{Alphabetic}}\p{{M}}\p{{Nd}}\p{{Pc}}\p{{Join_Control}}{_M_SEPARATORS}]*"
            rf"[\p{{Alphabetic}}{_M_SEPARATORS}]"
            rf"[\p{{Alphabetic}}\p{{M}}\p{{Nd}}\p{{Pc}}\p{{Join_Control}}{_M_SEPARATORS}]*{_M_WORD}")
_M_LAST = rf"{_M_WORD}*{_M_ALPHA}{_M_WORD}*"
_MASTODON_HASHTAG = rf"(?:^|(?<=\s))[#\uff03](?P<tag>{_M_FIRST}|{_M_LAST})"


def mastodon_hashtags(text: str) -> list[tuple[int, int, str]]:
    """Mastodon's Extractor.extract_hashtags_with_indices: (start, end, tag), '#' included."""
    found = []
    for match in _compile(_MASTODON_HASHTAG).finditer(text):
        tag, end = match.group("tag"), match.end()
        if text[end:end + 3] == "://" and _regex().search(r"https?$", tag):
            tag = _regex().sub(r"https?$", "", tag)   # '#foohttp://' tags 'foo'
            end = match.start() + 1 + len(tag)
        if tag:
            found.append((match.start(), end, tag))
    return found


def bluesky_hashtags(text: str) -> list[tuple[int, int, str]]:
    """The #tag facets @atproto/api's RichText finds: (start, end, tag), '#' included."""
    return [(start, end, feature["tag"]) for start, end, feature in _bluesky_spans(text)
            if feature["$type"] == TAG and not feature["tag"].startswith("$")]


# TDLib match_hashtags: [\d_\pL\x{200c}·]{1,256} with at least one letter; marks stay with the
# letter they sit on (Indic vowel signs), which TDLib's tables count as letters.
_TELEGRAM_CHAR = r"[\p{L}\p{M}\p{Nd}_\u200c\u00b7]"
_PLAIN_CHAR = r"[\p{L}\p{M}\p{Nd}_\u200c\u200d]"


@dataclass(frozen=True)
class Rule:
    name: str                       # as messages say it
    clickable: bool = True          # False: tags are plain text there
    char: str | None = None         # a character the platform allows in a tag (a regex class)
    emoji: bool = False             # emoji may be part of a tag
    needs: str | None = r"[\p{L}\p{M}]"   # what at least one character must be
    needs_why: str = "it needs at least one letter"
    forbidden: str = ""             # characters the platform's docs exclude by name
    max_length: int | None = None
    length_unit: str = "characters"
    one_per_post: bool = False


RULES: dict[str, Rule] = {
    "x": Rule("X", char=_X_ALNUM, max_length=None),
    "mastodon": Rule("Mastodon", char=rf"[\p{{Alphabetic}}\p{{M}}\p{{Nd}}\p{{Pc}}\p{{Join_Control}}{_M_SEPARATORS}]",
                     needs=_M_ALPHA),
    "bluesky": Rule("Bluesky", char=r"[^\s\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2]", emoji=True,
                    needs=r"[^\d\s\p{P}]", needs_why="it needs a character that is not a digit or punctuation",
                    max_length=64, length_unit="UTF-16 units"),
    "threads": Rule("Threads", char=r"[^\s]", emoji=True, needs=r"[^\d\s\p{P}]",
                    needs_why="it needs a character that is not a digit or punctuation",
                    forbidden=".&", max_length=50, one_per_post=True),
    "telegram": Rule("Telegram", char=_TELEGRAM_CHAR, max_length=256),
    "linkedin": Rule("LinkedIn", char=_PLAIN_CHAR),
    "facebook": Rule("Facebook", char=_PLAIN_CHAR),
    "instagram": Rule("Instagram", char=_PLAIN_CHAR),
    "discord": Rule("Discord", clickable=False),
    "slack": Rule("Slack", clickable=False),
}
PLAIN_TEXT = Rule("plain text", clickable=False)

# How each platform finds hashtags in a text, where postbot can run the platform's own rule.
EXTRACTORS = {"x": x_hashtags, "mastodon": mastodon_hashtags, "bluesky": bluesky_hashtags}


def rule_for(platform: str) -> Rule:
    return RULES.get(platform, PLAIN_TEXT)


@dataclass
class Decision:
    """What one tag becomes on one platform."""

    tag: str                                    # as the post lists it
    text: str | None                            # what follows '#' there; None when left out
    clickable: bool
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None                  # why nothing usable remains

    def to_dict(self) -> dict[str, object]:
        return {"tag": self.tag, "text": self.text, "clickable": self.clickable}


@cache
def _matcher(pattern: str):
    return _compile(pattern)


def _length(tag: str, rule: Rule) -> int:
    return utf16_len(tag) if rule.length_unit == "UTF-16 units" else len(tag)


def decide(platform: str, tag: str) -> Decision:
    """The tag `platform` gets for `tag`, with what was dropped and why. A copy of the kept decision
    (its warnings too): decide_all changes the decisions it returns."""
    decision = _decide(platform, tag)
    return replace(decision, warnings=list(decision.warnings))


@lru_cache(maxsize=2048)
def _decide(platform: str, tag: str) -> Decision:
    """Kept: every render of a post decides its tags again."""
    rule = rule_for(platform)
    if not rule.clickable:
        return Decision(tag, tag, False)
    in_emoji = {i for start, end in emoji_spans(tag) for i in range(start, end)}
    allowed = _matcher(rule.char) if rule.char else None
    kept, runs, last_dropped = [], [], -2
    for index, char in enumerate(tag):
        drop = ((index in in_emoji and not rule.emoji) or char in rule.forbidden
                or (allowed is not None and not allowed.match(char)))
        if not drop:
            kept.append(char)
            continue
        if last_dropped == index - 1:
            runs[-1] += char
        else:
            runs.append(char)
        last_dropped = index
    text = "".join(kept)
    if platform == "bluesky":
        trailing = _matcher(r"\p{P}+$").search(text)   # @atproto/api strips trailing punctuation
        if trailing:
            runs.append(trailing.group())
            text = text[:trailing.start()]
    warnings = []
    if runs and text:
        emoji_only = not rule.emoji and all(i in in_emoji for i, c in enumerate(tag) if c not in kept)
        warnings.append(f"tag {tag!r}: {', '.join(map(repr, dict.fromkeys(runs)))} cannot be part of a hashtag on {rule.name}"
                        f"{' (emoji)' if emoji_only else ''}, so {rule.name} gets #{text}")
    refusal = None
    where = f"cannot be a hashtag on {rule.name}"
    if not text:
        refusal = f"tag {tag!r} {where}: none of its characters can be part of one; remove it or add letters"
    elif rule.needs and not _matcher(rule.needs).search(text):
        refusal = f"tag {tag!r} {where}: {rule.needs_why}; add one or remove the tag"
    elif rule.max_length is not None and _length(text, rule) > rule.max_length:
        refusal = (f"tag {tag!r} {where}: it is {_length(text, rule)} {rule.length_unit} and {rule.name} "
                   f"allows {rule.max_length}; shorten it")
    extractor = EXTRACTORS.get(platform)
    if refusal is None and extractor is not None and [t for _, _, t in extractor("#" + text)] != [text]:
        refusal = f"tag {tag!r} {where}: {rule.name} would not read #{text} as one tag; reword it"
    if refusal:
        return Decision(tag, None, False, warnings, refusal)
    return Decision(tag, text, True, warnings)


def decide_all(platform: str, tags: list[str]) -> list[Decision]:
    """Every tag's decision for one platform; on Threads only the first usable tag is kept."""
    decisions = [decide(platform, tag) for tag in tags]
    if rule_for(platform).one_per_post:
        usable = [d for d in decisions if d.refusal is None]
        for extra in usable[1:]:
            extra.text, extra.clickable = None, False
        if usable[1:]:
            usable[0].warnings.append(f"Threads takes one topic tag per post: #{usable[0].text}; left out: "
                                      f"{', '.join(d.tag for d in usable[1:])}")
        if usable:
            # The other tags are not needed once one tag stands: their refusals become warnings.
            for decision in decisions:
                if decision.refusal is not None:
                    decision.warnings.append(decision.refusal + "; left out")
                    decision.refusal = None
    return decisions


def hashtag_line(decisions: list[Decision]) -> str:
    return " ".join(f"#{d.text}" for d in decisions if d.text is not None)
