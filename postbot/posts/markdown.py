"""Markdown -> the plain text a post body is made of.

Headings become their text, emphasis marks go, list items become '• ' (or '1. ') lines, code
keeps its text. A link shows its address after its label unless the label is the address or a
call to action already carries it; relative links and inline images cannot be posted, so each
becomes a warning at its line of the post file. markdown-it-py is imported on first use.
"""
from __future__ import annotations

import re
from typing import Any, Callable


class MarkdownText:
    """Markdown -> plain text: headings as their text, no emphasis marks, lists as '• ' lines."""

    def __init__(self, cta_urls: set[str], warn: Callable[[str, int | None], None], first_line: int):
        self.cta_urls, self.warn, self.first_line = cta_urls, warn, first_line

    def convert(self, source: str) -> tuple[list[str], str | None]:
        from markdown_it import MarkdownIt

        tokens = MarkdownIt("commonmark").parse(source)
        blocks: list[str] = []
        heading: str | None = None
        lists: list[list[Any]] = []          # per open list: [ordered, marker for the next paragraph]
        list_lines: list[str] = []
        line = self.first_line
        for index, token in enumerate(tokens):
            if token.map:
                line = self.first_line + token.map[0]
            kind = token.type
            if kind in ("bullet_list_open", "ordered_list_open"):
                lists.append([kind == "ordered_list_open", None])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
                if not lists and list_lines:
                    blocks.append("\n".join(list_lines))
                    list_lines = []
            elif kind == "list_item_open":
                lists[-1][1] = f"{token.info}. " if lists[-1][0] else "\u2022 "
            elif kind == "inline":
                text = self.inline(token, line).strip()
                parent = tokens[index - 1].type if index else ""
                if not text:
                    continue
                if parent == "heading_open" and not blocks and not lists and tokens[index - 1].tag == "h1" \
                        and heading is None:
                    heading = text
                    continue
                self.add(text, blocks, lists, list_lines)
            elif kind in ("fence", "code_block"):
                self.add(token.content.rstrip("\n"), blocks, lists, list_lines)
            elif kind == "html_block":
                text = re.sub(r"<[^>]*>", "", re.sub(r"<!--.*?-->", "", token.content, flags=re.S)).strip()
                if text:
                    self.add(text, blocks, lists, list_lines)
        return blocks, heading

    @staticmethod
    def add(text: str, blocks: list[str], lists: list[list[Any]], list_lines: list[str]) -> None:
        if not lists:
            blocks.append(text)
            return
        indent = "  " * (len(lists) - 1)
        marker = lists[-1][1] or ""
        lists[-1][1] = None                     # a second paragraph in the same item gets no marker
        pad = indent + marker if marker else indent + "  "
        list_lines.append("\n".join(pad + part if i == 0 else indent + "  " + part
                                    for i, part in enumerate(text.split("\n"))))

    def inline(self, token: Any, line: int) -> str:
        out: list[str] = []
        links: list[tuple[str, int]] = []
        for child in token.children or []:
            kind = child.type
            if kind in ("text", "code_inline"):
                out.append(child.content)
            elif kind == "softbreak":
                out.append(" ")
            elif kind == "hardbreak":
                out.append("\n")
            elif kind == "link_open":
                links.append((str(child.attrs.get("href", "")), len(out)))
            elif kind == "link_close" and links:
                href, start = links.pop()
                label = "".join(out[start:]).strip()
                shown_already = label in (href, href.removeprefix("mailto:")) or href in self.cta_urls
                if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):
                    if not shown_already:
                        out.append(f" {href}")
                else:
                    self.warn(f"link {label!r} points to {href!r}, which is not a full address; it is "
                              f"posted as text only (write https://...)", line)
            elif kind == "image":
                self.warn(f"the inline image {child.attrs.get('src', '')!r} is not posted; use the image: "
                          f"setting for the post's picture", line)
        return "".join(out)
