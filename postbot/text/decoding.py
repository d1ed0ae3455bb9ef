"""Text that was decoded with the wrong charset: finding it (mojibake) and repairing what is safe.

ftfy is imported only when a classic mojibake pair is present, or to repair.
"""
from __future__ import annotations

import re

from postbot.text.units import _compile


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
    classic = re.search(_MOJIBAKE_PAIR, text) is not None   # a plain class: stdlib re, no `regex` import
    if classic:
        import ftfy
        from ftfy.badness import BADNESS_RE
        config = _ftfy_config()
    findings: list[tuple[int, int, str, str | None]] = []
    for line_number, line in enumerate(text.split("\n"), start=1):
        flagged: set[int] = set()
        for match in re.finditer(r"[\ufffd\x80-\x9f]", line):
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
