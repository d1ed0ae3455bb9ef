"""load_post: read one post file, pick its format, check what spans fields, and build the Post."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Sequence

from postbot.errors import PostError
from postbot.models import CTA, Post
from postbot.posts.front_matter import FrontMatter
from postbot.posts.hygiene import mojibake_warnings, repair_text
from postbot.posts.plain import PlainText

MARKDOWN_SUFFIXES = (".md", ".markdown")
PLAIN_SUFFIXES = (".txt", "")

TITLE_LENGTH = 70        # a title found inside the article
LONG_TITLE = 140         # the first sentence, when no shorter one carries the topic
SLUG_LENGTH = 60

_SLUG_SPELLINGS = str.maketrans({"\u00df": "ss", "\u00e6": "ae", "\u00f8": "o", "\u0153": "oe", "\u0142": "l",
                                 "\u0111": "d", "\u00fe": "th", "&": " and "})


def load_post(path: str | Path, *, repair: bool = False, media_roots: Sequence[Path] = ()) -> Post:
    """Parse and validate one post file. With repair=True, mis-decoded text is fixed first.
    A local image must resolve inside the post's folder or one of `media_roots`."""
    path = Path(path)
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in MARKDOWN_SUFFIXES + PLAIN_SUFFIXES:
        raise PostError(f"unsupported post file type {path.suffix!r}; use .md or .markdown (Markdown with "
                        f"optional front matter) or .txt (a plain-text article)", where)
    text = _read(path, where)
    if not text.strip():
        raise PostError("the file is empty; write the article, optionally after front matter between --- lines",
                        where, 1)

    warnings: list[str] = []
    if repair:
        text, warnings = repair_text(text, where)
    warnings += mojibake_warnings(text, where, repaired=repair)

    parser = PostFile(path, where, text, warnings, tuple(media_roots))
    return parser.parse(markdown=suffix in MARKDOWN_SUFFIXES)


def slugify(text: str, max_length: int = SLUG_LENGTH) -> str:
    """Lowercase ASCII words joined by hyphens, cut at a word end; '' when nothing ASCII is left."""
    text = unicodedata.normalize("NFKD", str(text).lower().translate(_SLUG_SPELLINGS))
    text = re.sub(r"['\u2019`]", "", text.encode("ascii", "ignore").decode())
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_length:
        head = slug[:max_length + 1]
        slug = head.rsplit("-", 1)[0] if "-" in head else slug[:max_length]
    return slug.strip("-")


def _read(path: Path, where: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PostError("no such post file; check the path", where) from None
    except IsADirectoryError:
        raise PostError("is a directory; give the path of one post file", where) from None
    except OSError as exc:
        raise PostError(f"cannot read the file ({exc.strerror}); check its permissions", where) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise PostError(f"byte {data[exc.start]:#04x} is not UTF-8; save the file as UTF-8", where, line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _derived_title(text: str, path: Path) -> str:
    """A title for an article without one, never cut mid-sentence: a short complete sentence about its
    topic, else its first sentence that is not throat-clearing (up to LONG_TITLE), else the file name."""
    from postbot.render.hooks import derive_title, sentences, throat_clearing

    found = derive_title(text, TITLE_LENGTH, hint=path.stem.replace("-", " ").replace("_", " "))
    if not found:
        found = next((s.text for s in sentences(text) if not throat_clearing(s.text)), "")
        found = found if len(found) <= LONG_TITLE else ""
    if found.endswith(".") and not found.endswith(".."):
        found = found[:-1]
    if not found.strip():
        words = re.sub(r"[-_]+", " ", path.stem).strip()
        found = words[:1].upper() + words[1:]
    return found.strip()


class PostFile(FrontMatter, PlainText):
    """The whole file: front matter, then a Markdown or plain-text body."""

    def parse(self, markdown: bool) -> Post:
        settings, body_line = self.front_matter()
        fields = self.settings(settings)
        body_lines = self.lines[body_line - 1:]
        explicit_title = fields.get("title")
        cta_lines: list[int] = [self.line_of("ctas", i) or 0 for i in range(len(fields.get("ctas", [])))]
        if markdown:
            body, heading = self.markdown_body("\n".join(body_lines), body_line, fields.get("ctas", []))
            if heading and not explicit_title:
                explicit_title = heading
        else:
            body, found_date, ctas, found_lines = self.plain_body(body_lines, body_line)
            fields.setdefault("date", found_date)
            fields["ctas"] = fields.get("ctas", []) + ctas
            cta_lines += found_lines
        if not body and not fields.get("teaser"):
            raise self.fail("the post has no text; write the article below the front matter, or set teaser:",
                            body_line)
        title = explicit_title or _derived_title(body or fields["teaser"], self.path)
        slug = (slugify(explicit_title) if explicit_title else "") or slugify(self.path.stem) or "post"
        self.check_repeated_links(fields.get("ctas", []), cta_lines)
        if fields.get("image") and not fields.get("image_alt"):
            self.warn("the image has no image_alt; add image_alt for accessibility", self.line_of("image"))
        if fields.get("image_alt") and not fields.get("image"):
            self.warn("image_alt is set but there is no image; add image: or remove image_alt",
                      self.line_of("image_alt"))
        fields.pop("title", None)
        lines = {str(key): self.line_of(str(key)) for key in settings if self.line_of(str(key))}
        return Post(source=self.where, slug=slug, title=title, body=body, warnings=self.warnings, lines=lines,
                    **fields)

    def check_repeated_links(self, ctas: list[CTA], lines: list[int]) -> None:
        seen: dict[str, int] = {}
        for number, cta in enumerate(ctas, start=1):
            if cta.url in seen:
                line = lines[number - 1] if number - 1 < len(lines) else None
                self.warn(f"CTA {number} ({cta.label!r}) repeats the link of CTA {seen[cta.url]}; "
                          f"remove one or give it its own link", line or None)
            else:
                seen[cta.url] = number

    def markdown_body(self, source: str, first_line: int, ctas: list[CTA]) -> tuple[str, str | None]:
        """Plain-text paragraphs, and the text of a leading level-1 heading (used as the title)."""
        from postbot.posts.markdown import MarkdownText

        blocks, heading = MarkdownText({c.url for c in ctas}, self.warn, first_line).convert(source)
        return "\n\n".join(blocks), heading
