"""The plain-text article format: a leading date line, paragraphs, and calls to action at the end."""
from __future__ import annotations

import re
import unicodedata

from postbot.models import CTA
from postbot.posts.source import PostSource, parse_date

CTA_LABEL_LENGTH = 60
_URL_AT_END = re.compile(r"^(?P<label>.*?)\s*(?P<url>https?://\S+)$")


def _clean_label(label: str) -> str:
    """Drop trailing whitespace, stray punctuation and a lone mis-decoded letter (the seed's 'π')."""
    keep = ")]}!?\u00bb\u201d\u2019\"'"
    while label:
        last, rest = label[-1], label[:-1]
        category = unicodedata.category(last)
        stray_letter = (category.startswith("L") and _script(last) in ("GREEK", "CYRILLIC")
                        and any(_script(c) == "LATIN" for c in rest)
                        and not any(_script(c) in ("GREEK", "CYRILLIC") for c in rest))
        if (last.isspace() or last == "\ufffd" or category in ("Cc", "Cf") or stray_letter
                or (category.startswith("P") and last not in keep)):
            label = rest
        else:
            break
    return label


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ", 1)[0]


class PlainText(PostSource):
    """The body of a plain-text article; its date line and trailing CTA lines become fields."""

    def plain_body(self, lines: list[str], first_line: int) -> tuple[str, str | None, list[CTA], list[int]]:
        """Body, date, CTAs and the CTAs' lines of a plain-text article."""
        numbered = [(first_line + i, line.rstrip()) for i, line in enumerate(lines)]
        while numbered and not numbered[0][1].strip():
            numbered.pop(0)
        found_date = None
        if numbered and re.match(r"^\s*(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})\s*$", numbered[0][1]):
            line_number, raw = numbered.pop(0)
            try:
                found_date = parse_date(raw).isoformat()
            except ValueError:
                raise self.fail(f"the date line {raw.strip()!r} is not a real date; write it as DD/MM/YYYY, "
                                f"e.g. 16/07/2025", line_number) from None
        ctas, cta_lines, numbered = self.trailing_ctas(numbered)
        has_blank = any(not line.strip() for _, line in numbered)
        paragraphs: list[str] = []
        current: list[str] = []
        for _, line in numbered + [(0, "")]:
            if line.strip():
                current.append(line.strip())
                if not has_blank:
                    paragraphs.append(current.pop())
            elif current:
                paragraphs.append(" ".join(current))
                current = []
        return "\n\n".join(paragraphs), found_date, ctas, cta_lines

    def trailing_ctas(self, numbered: list[tuple[int, str]]) -> tuple[list[CTA], list[int], list[tuple[int, str]]]:
        found: list[tuple[int, CTA]] = []
        notes: list[tuple[int, str]] = []
        end = len(numbered)
        while end:
            line_number, line = numbered[end - 1]
            if not line.strip():
                end -= 1
                continue
            match = _URL_AT_END.match(line.strip())
            if not match:
                break
            url, raw_label, label_line = match["url"], match["label"], line_number
            if not _clean_label(raw_label) and end >= 2 and numbered[end - 2][1].strip():
                label_line, raw_label = numbered[end - 2]
                if "://" in raw_label:
                    break
                end -= 1
            label = _clean_label(raw_label.strip())
            if not label or len(label) > CTA_LABEL_LENGTH or raw_label.rstrip().endswith((".", "?")):
                break
            if label != raw_label.strip():
                notes.append((label_line, f"CTA label {raw_label.strip()!r} ends with stray characters; "
                                          f"using {label!r} (fix the file, or run with --repair)"))
            found.append((label_line, CTA(label, url)))
            end -= 1
        found.reverse()
        for line_number, message in reversed(notes):
            self.warn(message, line_number)
        return [cta for _, cta in found], [line for line, _ in found], numbered[:end]
