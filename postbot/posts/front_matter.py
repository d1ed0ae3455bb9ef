"""Front matter: the YAML between `---` lines, the line of every key, and each setting's value check."""
from __future__ import annotations

import functools
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from postbot.models import CTA
from postbot.posts.source import PostSource, describe, is_web_url, parse_date

FRONT_MATTER_KEYS = ("title", "url", "date", "teaser", "ctas", "tags", "image", "image_alt", "lang",
                     "channels", "publish_at", "thread", "content_warning", "visibility", "teaser_strategy", "show_ctas", "overrides",
                     "repeat")
# What the renderer reads from `overrides: {<channel or platform>: {...}}`, and each one's type.
OVERRIDE_KEYS: dict[str, type] = {"text": str, "teaser": str, "thread": bool, "template": str,
                                  "limit": int, "utm": bool, "teaser_strategy": str, "show_ctas": str}
TEASER_STRATEGIES = ("lead", "hook")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")
VISIBILITIES = ("public", "unlisted", "private", "direct")

_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_CTA_SHAPE = "{label: ..., url: https://...}"
_SURROGATE = re.compile("[\ud800-\udfff]")



@functools.cache
def _loader():
    """yaml.SafeLoader whose dates and times that cannot exist (2025-02-30, a +99:00 offset) are
    YAML errors at their line instead of a ValueError from the constructor. YAML's JSON-style
    "\\ud83d\\ude00" escapes arrive as two UTF-16 halves: each pair becomes its character; a lone half
    is no character at all (no platform can count or send it), a YAML error at its line."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_yaml_timestamp(self, node):
            try:
                return super().construct_yaml_timestamp(node)
            except (ValueError, OverflowError) as exc:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{node.value!r} is not a real date or time ({exc})", node.start_mark) from None

        def construct_yaml_str(self, node):
            value = super().construct_yaml_str(node)
            half = _SURROGATE.search(value)
            if half is None:
                return value
            try:
                return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
            except UnicodeDecodeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the text holds half of a UTF-16 pair (\\u{ord(half.group()):04x}) with no "
                                f"other half", node.start_mark) from None

    Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)
    Loader.add_constructor("tag:yaml.org,2002:str", Loader.construct_yaml_str)
    return Loader


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


class FrontMatter(PostSource):
    """Reads and checks the front matter; each `check_<key>` returns the value the Post keeps."""

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
            loader = _loader()   # pure Python: libyaml's C loader marks some errors a line late
            root = yaml.compose(source, Loader=loader)
            data = yaml.load(source, Loader=loader)
        except RecursionError:
            raise self.fail(f"front matter is nested too deeply (more than Python's {sys.getrecursionlimit()} "
                            f"levels); settings are one or two levels deep, e.g. overrides: {{x: {{teaser: ...}}}}",
                            2) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 2 if mark else 2
            problem = exc.problem or exc.context or "invalid YAML"
            if "is not a real date or time" in problem:
                raise self.fail(f"{problem}; write a date that exists, e.g. 2025-02-28, and an offset "
                                f"within ±23:59, e.g. 2026-12-01T09:00+01:00", line) from None
            if "half of a UTF-16 pair" in problem:
                raise self.fail(f"{problem}; write the character itself, or escape it whole as \\U0001F600",
                                line) from None
            raise self.fail(f"front matter is not valid YAML ({problem}); quote text that contains ': ' or "
                            f"starts with a special character, e.g. title: \"Squats: the basics\"", line) from None
        except yaml.YAMLError as exc:
            raise self.fail(f"front matter is not valid YAML ({exc}); check the syntax", 2) from None
        if data is None:
            return {}, closing + 2
        if not isinstance(data, dict):
            raise self.fail(f"front matter must be settings like 'title: ...', one per line; got {describe(data)}", 2)
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
        fields: dict[str, Any] = {}
        for key, value in data.items():
            line = self.line_of(str(key))
            if key not in FRONT_MATTER_KEYS:
                import difflib   # only for a misspelt key: the cold preview does without it

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
            raise self.fail(f"{key!r} must be text, got {describe(value)}; write it as {key}: {example}", line)
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
        if not is_web_url(url):
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
            raise self.fail(f"'date' must be a date, got {describe(value)}; {fix}", line)
        try:
            parsed = parse_date(value)
        except ValueError:
            raise self.fail(f"'date' {value!r} is not a real date; {fix}", line) from None
        if parsed is None:
            raise self.fail(f"'date' {value!r} is not a date postbot reads; {fix}", line)
        return parsed.isoformat()

    def check_publish_at(self, value: Any, line: int | None) -> str:
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'publish_at' must be a date and time, got {describe(value)}; write it as "
                            f"publish_at: 2026-12-01T09:00", line)
        from postbot.errors import UsageError
        from postbot.times import UTC, parse_when
        try:
            # Only the form is checked here; whether it is past is decided when it is queued.
            parse_when(value, datetime.now(UTC), UTC, what="'publish_at'", allow_past=True)
        except UsageError as exc:
            raise self.fail(str(exc), line) from None
        return value.strip()

    def check_thread(self, value: Any, line: int | None) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"'thread' must be true or false, got {describe(value)}; write thread: true", line)
        return value

    def check_teaser_strategy(self, value: Any, line: int | None) -> str:
        strategy = self.text_value("teaser_strategy", value, line, "hook").lower()
        if strategy not in TEASER_STRATEGIES:
            raise self.fail(f"'teaser_strategy' {strategy!r} is not lead or hook; write teaser_strategy: hook "
                            f"(the article's best sentences) or teaser_strategy: lead (its first lines)", line)
        return strategy

    def check_show_ctas(self, value: Any, line: int | None) -> str:
        from postbot.render.ctas import parse_cta_choice

        try:
            choice = parse_cta_choice(value)
        except ValueError as exc:
            raise self.fail(f"'show_ctas' {exc}; e.g. show_ctas: first", line) from None
        return choice if isinstance(choice, str) else ",".join(map(str, choice))

    def check_repeat(self, value: Any, line: int | None) -> dict[str, Any]:
        from postbot.repeats import parse_repeat
        example = "repeat: {every: 30d, times: 4, until: 2027-06-01}"
        if not isinstance(value, dict):
            raise self.fail(f"'repeat' must be a mapping, got {describe(value)}; write it as {example}", line)
        unknown = sorted(set(map(str, value)) - {"every", "times", "until"})
        if unknown:
            raise self.fail(f"'repeat' has unknown key {unknown[0]!r}; use every, times and until: {example}",
                            self.line_of("repeat", unknown[0]) or line)
        until = value.get("until")
        data = {"every": str(value.get("every", "")), "times": value.get("times"),
                "until": until.isoformat() if isinstance(until, date) else until}
        try:
            parse_repeat(data, what="'repeat'")
        except ValueError as exc:
            raise self.fail(f"{exc}; write it as {example}", line) from None
        return data

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
            raise self.fail(f"{key!r} must be a list or a comma-separated string, got {describe(value)}; "
                            f"write it as {key}: [{example}]", line)
        for index, item in enumerate(value, start=1):
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise self.fail(f"{key!r} item {index} is {describe(item)}; write it as {key}: [{example}]",
                                self.line_of(key, index - 1))
        return [str(item).strip() for item in value if str(item).strip()]

    def check_tags(self, value: Any, line: int | None) -> list[str]:
        """Tags of any script. Each platform then takes what its own hashtag parser accepts
        (postbot.text.hashtags); here only what is wrong everywhere is refused."""
        from postbot.text import hashtags

        tags: list[str] = []
        for index, raw in enumerate(self.names("tags", value, line, "strength, glutes")):
            tag_line = (self.line_of("tags", index) if isinstance(value, list) else None) or line
            tag, removed = hashtags.clean_tag(raw)
            shown = raw.strip().lstrip("#\uff03")
            if removed:
                self.warn(f"tag {shown!r} held invisible characters ({', '.join(removed)}); postbot removed "
                          f"them, the tag is now {tag!r}", tag_line)
            if not tag:
                raise self.fail(f"tag {shown!r} is only invisible characters; write a word or remove it", tag_line)
            breaker = hashtags.breaking_character(tag)
            if breaker is not None:
                joined = "".join(w[:1].upper() + w[1:] for w in re.split(r"[\W_]+", tag) if w)
                what = "a space" if breaker.isspace() else f"{breaker!r}"
                raise self.fail(f"tag {tag!r} has {what}, which ends a hashtag on nearly every "
                                f"platform; write it as {joined or 'OneWord'}", tag_line)
            if tag.lower() in (t.lower() for t in tags):
                self.warn(f"tag {tag!r} is listed twice; postbot uses it once", tag_line)
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
            raise self.fail(f"'ctas' must be a list of {_CTA_SHAPE}, got {describe(value)}", line)
        ctas = []
        for number, item in enumerate(value, start=1):
            item_line = self.line_of("ctas", number - 1)
            if not isinstance(item, dict):
                raise self.fail(f"'ctas' item {number} is {describe(item)}; write it as {_CTA_SHAPE}", item_line)
            unknown = sorted(set(map(str, item)) - {"label", "url"})
            if unknown:
                raise self.fail(f"'ctas' item {number} has unknown key {unknown[0]!r}; write it as {_CTA_SHAPE}",
                                self.line_of("ctas", number - 1, unknown[0]))
            for key in ("label", "url"):
                if item.get(key) in (None, ""):
                    raise self.fail(f"'ctas' item {number} has no {key!r}; write it as {_CTA_SHAPE}", item_line)
            label = self.text_value("label", item["label"], self.line_of("ctas", number - 1, "label"), "Book a call")
            url = item["url"]
            if not isinstance(url, str) or not is_web_url(url.strip()):
                raise self.fail(f"'ctas' item {number} url {url!r} is not an http(s) link; write it as "
                                f"{_CTA_SHAPE}", self.line_of("ctas", number - 1, "url"))
            ctas.append(CTA(label, url.strip()))
        return ctas

    def check_image(self, value: Any, line: int | None) -> str:
        image = self.text_value("image", value, line, "images/photo.jpg")
        if is_web_url(image):
            return image
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", image):
            raise self.fail(f"'image' {image!r} must be a file path or an http(s) link", line)
        if Path(image.replace("\x00", "")).suffix.lower() not in IMAGE_SUFFIXES:
            raise self.fail(f"'image' {image!r} is not a JPG, PNG, GIF or WEBP file; convert it to one of those",
                            line)
        from postbot.local_images import ImageRefused, resolve
        try:
            return str(resolve(image, self.path.parent, self.media_roots))
        except ImageRefused as exc:
            raise self.fail(str(exc), line) from None

    def check_overrides(self, value: Any, line: int | None) -> dict[str, dict[str, Any]]:
        example = "overrides: {x: {teaser: \"...\"}}"
        if not isinstance(value, dict):
            raise self.fail(f"'overrides' must map channel or platform names to settings, got {describe(value)}; "
                            f"write it as {example}", line)
        overrides: dict[str, dict[str, Any]] = {}
        for name, settings in value.items():
            name_line = self.line_of("overrides", str(name))
            if not isinstance(name, str) or not _CHANNEL_NAME.match(name.lower()):
                raise self.fail(f"'overrides' key {name!r} is not a channel or platform name; write it as {example}",
                                name_line)
            if not isinstance(settings, dict):
                raise self.fail(f"'overrides' for {name!r} must be settings, got {describe(settings)}; "
                                f"write it as {example}", name_line)
            settings = dict(settings)
            for key, setting in settings.items():
                key_line = self.line_of("overrides", name, str(key))
                if key in ("teaser_strategy", "show_ctas"):
                    settings[key] = getattr(self, f"check_{key}")(setting, key_line)   # their own value checks
                    continue
                wanted = OVERRIDE_KEYS.get(key)
                if wanted is None:
                    raise self.fail(f"'overrides' for {name!r}: unknown setting {key!r}; allowed: "
                                    f"{', '.join(OVERRIDE_KEYS)}", key_line)
                wrong = not isinstance(setting, wanted) or (wanted is int and isinstance(setting, bool))
                if wrong or (wanted is int and setting <= 0) or (wanted is str and not setting.strip()):
                    shown = {str: "non-empty text", bool: "true or false", int: "a positive whole number"}[wanted]
                    raise self.fail(f"'overrides' for {name!r}: {key!r} must be {shown}, got {describe(setting)}",
                                    key_line)
                if key == "template" and (not setting.endswith(".j2") or "/" in setting or "\\" in setting):
                    raise self.fail(f"'overrides' for {name!r}: template {setting!r} must be the name of a .j2 "
                                    f"file in the templates folder, e.g. x-short.j2", key_line)
            overrides[name.lower()] = dict(settings)
        return overrides
