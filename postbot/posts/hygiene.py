"""Mis-decoded text in a post file, as warnings at file:line:column, and `--repair`'s changes."""
from __future__ import annotations

import re

from postbot import text as textlib


def _word_around(line: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole whitespace-delimited words, so a message shows some context."""
    left = re.search(r"\S*$", line[:start])
    right = re.match(r"\S*", line[end:])
    return left.start() if left else start, end + (right.end() if right else 0)


def _line_changes(old: str, new: str) -> list[tuple[int, int, int, int]]:
    """(old_start, old_end, new_start, new_end) of each changed run between two versions of a line."""
    from difflib import SequenceMatcher

    matcher = SequenceMatcher(None, old, new, autojunk=False)
    return [(i1, i2, j1, j2) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]


def repair_text(text: str, where: str) -> tuple[str, list[str]]:
    """The repaired text, and a 'repaired' warning per change, at the change's place in the file."""
    from difflib import SequenceMatcher

    repaired = textlib.repair(text)
    old_lines, new_lines = text.split("\n"), repaired.split("\n")
    notes = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                old, new = old_lines[i1 + offset], new_lines[j1 + offset]
                for o1, o2, n1, n2 in _line_changes(old, new):
                    left, right = _word_around(old, o1, o2)
                    before, after = old[left:right], old[left:o1] + new[n1:n2] + old[o2:right]
                    notes.append(f"{where}:{i1 + offset + 1}:{o1 + 1}: repaired {before.strip()!r} -> "
                                 f"{after.strip()!r}")
        else:
            notes.append(f"{where}:{i1 + 1}: repaired lines {i1 + 1}-{max(i2, i1 + 1)} (line breaks changed)")
    return repaired, notes


def mojibake_warnings(text: str, where: str, repaired: bool) -> list[str]:
    """A warning per sign of mis-decoded text, with what it probably should be."""
    findings = textlib.mojibake(text)
    if not findings:
        return []
    lines = text.split("\n")
    fixed_lines = textlib.repair(text).split("\n") if not repaired else lines
    aligned = len(fixed_lines) == len(lines)
    notes = []
    for line_number, column, snippet, suggestion in findings:
        line = lines[line_number - 1] if line_number <= len(lines) else ""
        start = column - 1
        left, right = _word_around(line, start, min(start + 1, len(line)))
        if right - left <= 2:                # a lone junk character: show the word before it too
            before = re.search(r"\S+\s+$", line[:left])
            left = before.start() if before else left
        shown = line[left:right].strip() or snippet
        if repaired:
            notes.append(f"{where}:{line_number}:{column}: mis-decoded text {shown!r} could not be repaired "
                         f"safely; fix it by hand")
            continue
        probably = None
        if aligned:
            for o1, o2, n1, n2 in _line_changes(line, fixed_lines[line_number - 1]):
                if o1 <= start < max(o2, o1 + 1):
                    probably = fixed_lines[line_number - 1][n1:n2]
                    break
        if probably is None and suggestion is not None and suggestion != snippet:
            probably = suggestion
        if probably is None:
            hint = "; no safe automatic repair, fix it by hand"
        elif probably.strip() == "":
            hint = " (probably junk to delete); run with --repair to fix"
        else:
            hint = f" (probably {probably!r}); run with --repair to fix"
        notes.append(f"{where}:{line_number}:{column}: mis-decoded text {shown!r}{hint}")
    return notes
