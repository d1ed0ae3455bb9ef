"""Which CTAs a channel shows: `all`, `first`, `none` or numbers such as `1,3` (<NAME>_CTAS, show_ctas:)."""
from __future__ import annotations

import re
from typing import Sequence, TypeVar

T = TypeVar("T")

CHOICES = ("all", "first", "none")
EXAMPLE = "all, first, none, or CTA numbers such as 1,3"
_NUMBERS = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*$")


def parse_cta_choice(value: object) -> str | tuple[int, ...]:
    """'all' | 'first' | 'none' | (1-based numbers, in the order given); ValueError names the choices."""
    if isinstance(value, bool):
        raise ValueError(f"got {value!r}; use {EXAMPLE}")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        value = ",".join(map(str, value))
    if not isinstance(value, str):
        raise ValueError(f"got {type(value).__name__}; use {EXAMPLE}")
    text = value.strip().lower()
    if text in CHOICES:
        return text
    if _NUMBERS.match(text):
        numbers = tuple(dict.fromkeys(int(n) for n in text.split(",")))
        if 0 in numbers:
            raise ValueError(f"CTA numbers start at 1, got {value!r}")
        return numbers
    raise ValueError(f"{value!r} is not a CTA choice; use {EXAMPLE}")


def pick(ctas: Sequence[T], choice: str | tuple[int, ...]) -> list[T]:
    """The chosen CTAs; numbers past the post's CTAs are skipped (another post may have them)."""
    if choice == "all":
        return list(ctas)
    if choice == "first":
        return list(ctas[:1])
    if choice == "none":
        return []
    return [ctas[n - 1] for n in choice if n <= len(ctas)]
