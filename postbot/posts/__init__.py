"""Reading post files into a validated Post.

Two formats:

* Markdown (`.md`, `.markdown`) with optional YAML front matter between `---` lines. The body
  becomes plain-text paragraphs separated by blank lines (postbot/posts/markdown.py).
* A plain-text article like the real input this project started from (`.txt` or no extension):
  an optional leading date line (DD/MM/YYYY), one paragraph per line (or blank-line separated
  paragraphs, whose lines are then joined), and calls to action at the end, either
  `Label https://...` on one line or a label line followed by a URL line.

Anything wrong raises PostError naming the file, the line and the fix. Things that still work but
deserve a look (mis-decoded characters, missing alt text, repeated links) become Post.warnings,
each starting with `file:line[:column]:`. Line numbers always count lines of the file itself.

PyYAML, markdown-it-py and postbot.text's heavy helpers are imported on first use: the CLI's
preview path imports this module and must start fast.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from postbot.errors import PostError
from postbot.models import CTA, Post

FRONT_MATTER_KEYS = ("title", "url", "date", "teaser", "ctas", "tags", "image", "image_alt", "lang",
                     "channels", "publish_at", "thread", "content_warning", "visibility", "overrides")
# What the renderer reads from `overrides: {<channel or platform>: {...}}`, and each one's type.
OVERRIDE_KEYS: dict[str, type] = {"text": str, "teaser": str, "thread": bool, "template": str,
                                  "limit": int, "utm": bool}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")
VISIBILITIES = ("public", "unlisted", "private", "direct")
MARKDOWN_SUFFIXES = (".md", ".markdown")
PLAIN_SUFFIXES = (".txt", "")

TITLE_LENGTH = 70
SLUG_LENGTH = 60
CTA_LABEL_LENGTH = 60

_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_TAG = re.compile(r"^\w+$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_URL_AT_END = re.compile(r"^(?P<label>.*?)\s*(?P<url>https?://\S+)$")
_TITLE_TRAILING = " \t,.;:!?\u2026-\u2013\u2014/\u3002\u3001\uff01\uff1f\"'\u201c\u201d\u2018\u2019"
_SLUG_SPELLINGS = str.maketrans({"\u00df": "ss", "\u00e6": "ae", "\u00f8": "o", "\u0153": "oe", "\u0142": "l",
                                 "\u0111": "d", "\u00fe": "th", "&": " and "})
_CTA_SHAPE = "{label: ..., url: https://...}"


def load_post(path: str | Path, *, repair: bool = False) -> Post:
    """Parse and validate one post file. With repair=True, mis-decoded text is fixed first."""
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
        text, warnings = _repair(text, where)
    warnings += _hygiene(text, where, repaired=repair)

    parser = _PostFile(path, where, text, warnings)
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


# ---------------------------------------------------------------------------------------------
# Reading and text hygiene

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


def _repair(text: str, where: str) -> tuple[str, list[str]]:
    """The repaired text, and a 'repaired' warning per change, at the change's place in the file."""
    from difflib import SequenceMatcher

    from postbot import text as textlib

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


def _hygiene(text: str, where: str, repaired: bool) -> list[str]:
    """A warning per sign of mis-decoded text, with what it probably should be."""
    from postbot import text as textlib

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


# ---------------------------------------------------------------------------------------------
# Small value checks

def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, (date, datetime)):
        return f"the date {value.isoformat()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _is_web_url(value: str) -> bool:
    if re.search(r"\s", value):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


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


def _first_sentence_title(text: str, lang: str | None) -> str:
    from postbot import text as textlib

    paragraph = text.strip().split("\n", 1)[0].strip()
    ends = textlib.sentence_cuts(paragraph)
    sentence = paragraph[:ends[0]] if ends else paragraph
    sentence = sentence.strip()
    if len(sentence) > TITLE_LENGTH:
        cuts = [c for c in textlib.word_cuts(sentence, lang) if c <= TITLE_LENGTH]
        sentence = sentence[:cuts[-1]] if cuts else sentence[:TITLE_LENGTH]
    return sentence.rstrip(_TITLE_TRAILING)


def _parse_date(raw: str) -> date | None:
    raw = raw.strip()
    match = _DMY.match(raw)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)        # ValueError for 31/02: the caller says how to fix it
    if re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
        return date.fromisoformat(raw)
    return None


# ---------------------------------------------------------------------------------------------
# Front matter line numbers

class _Lines:
    """Where each front matter key, list item and nested key starts, from PyYAML's node marks."""

    def __init__(self, root: Any, first_line: int):
        self.root, self.first_line = root, first_line

    def of(self, *steps: str | int) -> int:
        import yaml

        node, line = self.root, self.first_line
        for step in steps:
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                found = next(((k, v) for k, v in node.value if k.value == step), None)
                if found is None:
                    break
                line, node = found[0].start_mark.line + self.first_line, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line + self.first_line
            else:
                break
        return line


# ---------------------------------------------------------------------------------------------
# The parser

class _PostFile:
    def __init__(self, path: Path, where: str, text: str, warnings: list[str]):
        self.path, self.where, self.text, self.warnings = path, where, text, warnings
        self.lines = text.split("\n")
        self.lines_of: _Lines | None = None

    def fail(self, message: str, line: int | None = None) -> PostError:
        return PostError(message, self.where, line)

    def warn(self, message: str, line: int | None = None) -> None:
        self.warnings.append(f"{self.where}:{line}: {message}" if line else f"{self.where}: {message}")

    def line_of(self, *steps: str | int) -> int | None:
        return self.lines_of.of(*steps) if self.lines_of else None

    # ---- whole file ----------------------------------------------------------------
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
        title = (explicit_title or _first_sentence_title(body or fields["teaser"], fields.get("lang"))
                 or self.path.stem)
        slug = (slugify(explicit_title) if explicit_title else "") or slugify(self.path.stem) or "post"
        self.check_repeated_links(fields.get("ctas", []), cta_lines)
        if fields.get("image") and not fields.get("image_alt"):
            self.warn("the image has no image_alt; add image_alt for accessibility", self.line_of("image"))
        if fields.get("image_alt") and not fields.get("image"):
            self.warn("image_alt is set but there is no image; add image: or remove image_alt",
                      self.line_of("image_alt"))
        fields.pop("title", None)
        return Post(source=self.where, slug=slug, title=title, body=body, warnings=self.warnings, **fields)

    def check_repeated_links(self, ctas: list[CTA], lines: list[int]) -> None:
        seen: dict[str, int] = {}
        for number, cta in enumerate(ctas, start=1):
            if cta.url in seen:
                line = lines[number - 1] if number - 1 < len(lines) else None
                self.warn(f"CTA {number} ({cta.label!r}) repeats the link of CTA {seen[cta.url]}; "
                          f"remove one or give it its own link", line or None)
            else:
                seen[cta.url] = number

    # ---- front matter --------------------------------------------------------------
    def front_matter(self) -> tuple[dict[str, Any], int]:
        """The settings and the 1-based line where the body starts."""
        if self.lines[0].rstrip() != "---":
            return {}, 1
        closing = next((i for i in range(1, len(self.lines)) if self.lines[i].rstrip() in ("---", "...")), None)
        if closing is None:
            raise self.fail("front matter opened with --- is never closed; add a line with --- after the "
                            "last setting", 1)
        import yaml

        source = "\n".join(self.lines[1:closing])
        try:
            loader = yaml.SafeLoader   # libyaml's C loader marks some errors a line late
            root = yaml.compose(source, Loader=loader)
            data = yaml.load(source, Loader=loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 2 if mark else 2
            problem = exc.problem or exc.context or "invalid YAML"
            raise self.fail(f"front matter is not valid YAML ({problem}); quote text that contains ': ' or "
                            f"starts with a special character, e.g. title: \"Squats: the basics\"", line) from None
        except yaml.YAMLError as exc:
            raise self.fail(f"front matter is not valid YAML ({exc}); check the syntax", 2) from None
        if data is None:
            return {}, closing + 2
        if not isinstance(data, dict):
            raise self.fail(f"front matter must be settings like 'title: ...', one per line; got {_kind(data)}", 2)
        self.lines_of = _Lines(root, 2)
        seen: dict[str, int] = {}
        for key_node, _ in root.value:
            line = key_node.start_mark.line + 2
            if key_node.value in seen:
                raise self.fail(f"{key_node.value!r} is set twice (lines {seen[key_node.value]} and {line}); "
                                f"keep one", line)
            seen[str(key_node.value)] = line
        return data, closing + 2

    def settings(self, data: dict[str, Any]) -> dict[str, Any]:
        import difflib

        fields: dict[str, Any] = {}
        for key, value in data.items():
            line = self.line_of(str(key))
            if key not in FRONT_MATTER_KEYS:
                close = difflib.get_close_matches(str(key), FRONT_MATTER_KEYS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(f"unknown setting {key!r}; {hint}allowed: {', '.join(FRONT_MATTER_KEYS)}", line)
            if value is None:
                continue
            checked = getattr(self, f"check_{key}")(value, line)
            if checked not in (None, "", [], {}) or key == "thread":
                fields[key] = checked
        return fields

    def text_value(self, key: str, value: Any, line: int | None, example: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(f"{key!r} must be text, got {_kind(value)}; write it as {key}: {example}", line)
        return str(value).strip()

    def check_title(self, value: Any, line: int | None) -> str:
        return self.text_value("title", value, line, "\"Your title\"")

    def check_teaser(self, value: Any, line: int | None) -> str:
        return self.text_value("teaser", value, line, "\"A line or two that makes people click\"")

    def check_image_alt(self, value: Any, line: int | None) -> str:
        return self.text_value("image_alt", value, line, "\"What the picture shows\"")

    def check_content_warning(self, value: Any, line: int | None) -> str:
        return self.text_value("content_warning", value, line, "\"injury photos\"")

    def check_url(self, value: Any, line: int | None) -> str:
        url = self.text_value("url", value, line, "https://example.com/blog/your-post")
        if not _is_web_url(url):
            raise self.fail(f"'url' must be an http(s) link, got {url!r}; write it as "
                            f"url: https://example.com/blog/your-post", line)
        return url

    def check_date(self, value: Any, line: int | None) -> str:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        fix = "write it as date: 2025-07-16 (or 16/07/2025)"
        if not isinstance(value, str):
            raise self.fail(f"'date' must be a date, got {_kind(value)}; {fix}", line)
        try:
            parsed = _parse_date(value)
        except ValueError:
            raise self.fail(f"'date' {value!r} is not a real date; {fix}", line) from None
        if parsed is None:
            raise self.fail(f"'date' {value!r} is not a date postbot reads; {fix}", line)
        return parsed.isoformat()

    def check_publish_at(self, value: Any, line: int | None) -> str:
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'publish_at' must be a date and time, got {_kind(value)}; write it as "
                            f"publish_at: 2026-12-01T09:00", line)
        return value.strip()

    def check_thread(self, value: Any, line: int | None) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"'thread' must be true or false, got {_kind(value)}; write thread: true", line)
        return value

    def check_lang(self, value: Any, line: int | None) -> str:
        lang = self.text_value("lang", value, line, "en")
        if not _LANG.match(lang):
            hint = f" (use a hyphen: {lang.replace('_', '-')})" if "_" in lang else ""
            raise self.fail(f"'lang' {lang!r} is not a language tag{hint}; write it as lang: en, or lang: pt-BR",
                            line)
        return lang

    def check_visibility(self, value: Any, line: int | None) -> str:
        visibility = self.text_value("visibility", value, line, "public").lower()
        if visibility not in VISIBILITIES:
            raise self.fail(f"'visibility' {visibility!r} is not one of {', '.join(VISIBILITIES)}; pick one", line)
        return visibility

    def names(self, key: str, value: Any, line: int | None, example: str) -> list[Any]:
        """A list, or a comma-separated string, of scalars."""
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(",")) if part]
        if not isinstance(value, list):
            raise self.fail(f"{key!r} must be a list or a comma-separated string, got {_kind(value)}; "
                            f"write it as {key}: [{example}]", line)
        for index, item in enumerate(value, start=1):
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise self.fail(f"{key!r} item {index} is {_kind(item)}; write it as {key}: [{example}]",
                                self.line_of(key, index - 1))
        return [str(item).strip() for item in value if str(item).strip()]

    def check_tags(self, value: Any, line: int | None) -> list[str]:
        tags: list[str] = []
        for tag in self.names("tags", value, line, "strength, glutes"):
            tag = tag.lstrip("#")
            if not _TAG.match(tag):
                joined = "".join(w[:1].upper() + w[1:] for w in re.split(r"\W+", tag) if w)
                raise self.fail(f"tag {tag!r} has a space or punctuation, which ends a hashtag on every "
                                f"platform; write it as {joined or 'OneWord'}", line)
            if tag.lower() in (t.lower() for t in tags):
                self.warn(f"tag {tag!r} is listed twice; postbot uses it once", line)
                continue
            tags.append(tag)
        return tags

    def check_channels(self, value: Any, line: int | None) -> list[str]:
        channels = [name.lower() for name in self.names("channels", value, line, "x, bluesky")]
        if not channels:
            raise self.fail("'channels' is empty; list channel names, or remove it to post to every channel", line)
        for name in channels:
            if not _CHANNEL_NAME.match(name):
                raise self.fail(f"channel {name!r} is not a channel name; use names from POSTBOT_CHANNELS, "
                                f"like x or linkedin", line)
        return list(dict.fromkeys(channels))

    def check_ctas(self, value: Any, line: int | None) -> list[CTA]:
        if not isinstance(value, list):
            raise self.fail(f"'ctas' must be a list of {_CTA_SHAPE}, got {_kind(value)}", line)
        ctas = []
        for number, item in enumerate(value, start=1):
            item_line = self.line_of("ctas", number - 1)
            if not isinstance(item, dict):
                raise self.fail(f"'ctas' item {number} is {_kind(item)}; write it as {_CTA_SHAPE}", item_line)
            unknown = sorted(set(map(str, item)) - {"label", "url"})
            if unknown:
                raise self.fail(f"'ctas' item {number} has unknown key {unknown[0]!r}; write it as {_CTA_SHAPE}",
                                self.line_of("ctas", number - 1, unknown[0]))
            for key in ("label", "url"):
                if item.get(key) in (None, ""):
                    raise self.fail(f"'ctas' item {number} has no {key!r}; write it as {_CTA_SHAPE}", item_line)
            label = self.text_value("label", item["label"], self.line_of("ctas", number - 1, "label"), "Book a call")
            url = item["url"]
            if not isinstance(url, str) or not _is_web_url(url.strip()):
                raise self.fail(f"'ctas' item {number} url {url!r} is not an http(s) link; write it as "
                                f"{_CTA_SHAPE}", self.line_of("ctas", number - 1, "url"))
            ctas.append(CTA(label, url.strip()))
        return ctas

    def check_image(self, value: Any, line: int | None) -> str:
        image = self.text_value("image", value, line, "images/photo.jpg")
        if _is_web_url(image):
            return image
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", image):
            raise self.fail(f"'image' {image!r} must be a file path or an http(s) link", line)
        if Path(image).suffix.lower() not in IMAGE_SUFFIXES:
            raise self.fail(f"'image' {image!r} is not a JPG, PNG, GIF or WEBP file; convert it to one of those",
                            line)
        local = (self.path.parent / Path(image).expanduser()).resolve()
        if not local.is_file():
            raise self.fail(f"'image' {image!r} not found; the path is read relative to the post file's folder",
                            line)
        return str(local)

    def check_overrides(self, value: Any, line: int | None) -> dict[str, dict[str, Any]]:
        example = "overrides: {x: {teaser: \"...\"}}"
        if not isinstance(value, dict):
            raise self.fail(f"'overrides' must map channel or platform names to settings, got {_kind(value)}; "
                            f"write it as {example}", line)
        overrides: dict[str, dict[str, Any]] = {}
        for name, settings in value.items():
            name_line = self.line_of("overrides", str(name))
            if not isinstance(name, str) or not _CHANNEL_NAME.match(name.lower()):
                raise self.fail(f"'overrides' key {name!r} is not a channel or platform name; write it as {example}",
                                name_line)
            if not isinstance(settings, dict):
                raise self.fail(f"'overrides' for {name!r} must be settings, got {_kind(settings)}; "
                                f"write it as {example}", name_line)
            for key, setting in settings.items():
                key_line = self.line_of("overrides", name, str(key))
                wanted = OVERRIDE_KEYS.get(key)
                if wanted is None:
                    raise self.fail(f"'overrides' for {name!r}: unknown setting {key!r}; allowed: "
                                    f"{', '.join(OVERRIDE_KEYS)}", key_line)
                wrong = not isinstance(setting, wanted) or (wanted is int and isinstance(setting, bool))
                if wrong or (wanted is int and setting <= 0) or (wanted is str and not setting.strip()):
                    shown = {str: "non-empty text", bool: "true or false", int: "a positive whole number"}[wanted]
                    raise self.fail(f"'overrides' for {name!r}: {key!r} must be {shown}, got {_kind(setting)}",
                                    key_line)
            overrides[name.lower()] = dict(settings)
        return overrides

    # ---- bodies --------------------------------------------------------------------
    def markdown_body(self, source: str, first_line: int, ctas: list[CTA]) -> tuple[str, str | None]:
        """Plain-text paragraphs, and the text of a leading level-1 heading (used as the title)."""
        from postbot.posts.markdown import MarkdownText

        blocks, heading = MarkdownText({c.url for c in ctas}, self.warn, first_line).convert(source)
        return "\n\n".join(blocks), heading

    def plain_body(self, lines: list[str], first_line: int) -> tuple[str, str | None, list[CTA], list[int]]:
        """Body, date, CTAs and the CTAs' lines of a plain-text article."""
        numbered = [(first_line + i, line.rstrip()) for i, line in enumerate(lines)]
        while numbered and not numbered[0][1].strip():
            numbered.pop(0)
        found_date = None
        if numbered and re.match(r"^\s*(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})\s*$", numbered[0][1]):
            line_number, raw = numbered.pop(0)
            try:
                found_date = _parse_date(raw).isoformat()
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
