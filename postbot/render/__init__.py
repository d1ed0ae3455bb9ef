"""Fill a channel's template and fit the teaser to what the platform allows.

The teaser is the only elastic part of a render: everything else (CTAs, hashtags,
the post's link) is fixed by the template. Fitting tries teaser prefixes cut at
sentence ends (longest first), else at word or phrase boundaries with an ellipsis,
and measures every candidate with the platform's own counting rule, so what is
measured is exactly what is sent.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from postbot import text as textlib
from postbot.errors import RenderError
from postbot.models import CTA, Channel, Part, Post, Render
from postbot.publishers import make_publisher
from postbot.publishers.base import Prepared, Publisher

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def templates_dir() -> Path:
    """The built-in templates: beside the package in a checkout, inside it when installed."""
    if PACKAGE_TEMPLATES.is_dir():
        return PACKAGE_TEMPLATES
    import importlib.util
    spec = importlib.util.find_spec("postbot.templates")
    return Path(next(iter(spec.submodule_search_locations)))  # type: ignore[union-attr]


@lru_cache(maxsize=1024)
def add_utm(url: str, platform: str, campaign: str) -> str:
    """Tag a link for analytics without touching parameters the link already has."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    wanted = [("utm_source", platform), ("utm_medium", "social"), ("utm_campaign", campaign)]
    extra = [(k, v) for k, v in wanted if k not in present]
    if not extra:
        return url
    separator = "&" if parts.query else ""
    return urlunsplit(parts._replace(query=parts.query + separator + urlencode(extra)))


def _bytecode_cache():
    """Compiled templates kept between runs: compiling ten templates costs more than the rest of
    a cold `postbot preview`. Jinja2 checks each template's source, so edits are picked up."""
    import os
    import jinja2
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "postbot" / "templates"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(base))


@lru_cache(maxsize=256)
def sentence_cuts(source: str) -> tuple[int, ...]:
    """Cached: every channel of a post looks for cuts in the same text."""
    return tuple(textlib.sentence_cuts(source))


@lru_cache(maxsize=256)
def word_cuts(source: str, lang: str | None) -> tuple[int, ...]:
    return tuple(textlib.word_cuts(source, lang))


def cut_teaser(source: str, index: int, ellipsis: bool) -> str:
    """A prefix of the teaser; an ellipsis right after a URL would read as part of it."""
    teaser = textlib.cut(source, index, ellipsis=ellipsis)
    if ellipsis and teaser.endswith("…"):
        body = teaser[:-1]
        spans = textlib.url_spans(body, schemeless=True)
        if spans and spans[-1][1] >= len(body.rstrip()):
            teaser = body.rstrip() + " …"
    return teaser


class Renderer:
    def __init__(self, user_templates: Path | None = None):
        self.user_templates = user_templates
        self._environments: dict[str, Any] = {}

    def environment(self, rules: Publisher):
        """One Jinja2 environment per platform: each escapes printed values its own way."""
        key = type(rules).__name__
        if key not in self._environments:
            import jinja2
            from markupsafe import Markup

            escape = rules.escape

            def finalize(value: Any) -> Any:
                if value is None:
                    return ""
                if isinstance(value, Markup):
                    return value
                return escape(str(value))

            search = [str(templates_dir())]
            if self.user_templates:
                search.insert(0, str(self.user_templates))
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(search), bytecode_cache=_bytecode_cache(),
                autoescape=False, trim_blocks=True, lstrip_blocks=True,
                undefined=jinja2.StrictUndefined, finalize=finalize,
                keep_trailing_newline=False)
            env.globals["link"] = lambda url, label=None: Markup(rules.link(url, label))
            self._environments[key] = env
        return self._environments[key]

    def template(self, rules: Publisher, name: str):
        import jinja2
        env = self.environment(rules)
        try:
            return env.get_template(name)
        except jinja2.TemplateNotFound:
            raise RenderError(f"template {name!r} not found in {env.loader.searchpath}; "
                              f"create it or fix the channel's _TEMPLATE setting") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}:{exc.lineno}: template error: {exc.message}") from None

    def render(self, post: Post, channel: Channel, rules: Publisher | None = None) -> Render:
        rules = rules or make_publisher(channel, rules=True)
        return _Fitting(self, post, channel, rules).run()


class _Fitting:
    def __init__(self, renderer: Renderer, post: Post, channel: Channel, rules: Publisher):
        self.post, self.channel, self.rules = post, channel, rules
        self.override = post.override(channel.name, channel.platform)
        name = self.override.get("template") or channel.template or f"{channel.platform}.j2"
        self.template = renderer.template(rules, name)
        self.limit = int(self.override.get("limit") or rules.limit_for(post))
        self.context = self._context()

    # ---- template context ---------------------------------------------------------
    def _context(self) -> dict[str, Any]:
        post, platform = self.post, self.channel.platform
        utm = self.channel.utm and self.override.get("utm", True) is not False
        tag: Callable[[str], str] = (lambda url: add_utm(url, platform, post.slug)) if utm else (lambda url: url)
        every_cta = [CTA(c.label, tag(c.url)) for c in post.ctas]
        ctas = every_cta if self.rules.all_ctas else every_cta[:1]
        # A title derived from the first sentence would only repeat the teaser.
        source = (self.override.get("teaser") or post.teaser or post.body or "").lstrip()
        title = None if post.title and source.startswith(post.title.rstrip(".…!? ")) else post.title
        return {
            "title": title, "url": tag(post.url) if post.url else None,
            "ctas": ctas, "all_ctas": every_cta,
            "tags": post.tags, "hashtags": " ".join(f"#{t}" for t in post.tags),
            "post": post, "channel": self.channel.name, "platform": platform,
            "link_in_bio": self.rules.link_in_bio, "limit": self.limit,
        }

    def compose(self, teaser: str, **extra: Any) -> tuple[Prepared, int, list[str]]:
        rendered = self.template.render(self.context, teaser=teaser, **extra).strip()
        prepared = self.rules.prepare(rendered)
        return prepared, self.rules.measure(prepared), self.rules.violations(prepared)

    def fits(self, teaser: str, **extra: Any) -> tuple[Prepared, int, list[str]] | None:
        prepared, length, problems = self.compose(teaser, **extra)
        return (prepared, length, problems) if length <= self.limit and not problems else None

    # ---- the search ----------------------------------------------------------------
    def source(self) -> str:
        return (self.override.get("teaser") or self.post.teaser or self.post.body or "").strip()

    def window(self, source: str) -> str:
        """The part of a long body a teaser could ever come from. A teaser cap bounds it exactly;
        otherwise no platform counts a character as less than one, so the room plus slack for links
        counted shorter than they are (X, Mastodon) is enough."""
        if self.rules.teaser_max is not None:
            return source[:self.rules.teaser_max + 1]
        return source[:self.limit + 400]

    def cap(self, cuts: tuple[int, ...], source: str) -> list[int]:
        limit = min(len(source), self.rules.teaser_max or len(source))
        return [i for i in cuts if i <= limit and i < len(source)]

    def longest_fit(self, source: str, cuts: list[int], ellipsis: bool):
        """Binary search over ascending cut points; longer teasers never measure shorter."""
        found, lo, hi = None, 0, len(cuts) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            teaser = cut_teaser(source, cuts[mid], ellipsis)
            result = self.fits(teaser)
            if result:
                found, lo = (teaser, result), mid + 1
            else:
                hi = mid - 1
        return found

    def run(self) -> Render:
        if self.override.get("text"):
            return self.fixed(self.override["text"])
        thread = self.override.get("thread", self.post.thread)
        if thread and self.rules.supports_threads:
            return self.thread(int(thread) if not isinstance(thread, bool) else None)
        source = self.source()
        window = self.window(source)
        whole_fits = window == source and (self.rules.teaser_max is None or len(source) <= self.rules.teaser_max)
        result = self.fits(source) if whole_fits else None
        if result:
            return self.finish(source, result, truncated=False)
        source = window
        sentences = self.cap(sentence_cuts(source), source)
        found = self.longest_fit(source, sentences, ellipsis=False)
        if not found:
            # Word (or phrase) cuts are dearer to find; only needed when no whole sentence fits.
            first_sentence = sentences[0] if sentences else len(source)
            words = [i for i in self.cap(word_cuts(source, self.post.lang), source) if i < first_sentence]
            found = self.longest_fit(source, words, ellipsis=True)
        if not found:
            found_empty = self.fits("")
            if found_empty:
                found = ("", found_empty)
        if not found:
            self.overflow()
        teaser, result = found
        return self.finish(teaser, result, truncated=True)

    def overflow(self):
        prepared, length, problems = self.compose("")
        name = self.channel.name
        if length > self.limit:
            raise RenderError(
                f"channel {name} ({self.channel.platform}): even without a teaser the text is "
                f"{length}/{self.limit}, {length - self.limit} over the limit; shorten the CTAs or "
                f"tags, or use a shorter template", channel=name, overflow=length - self.limit)
        raise RenderError(f"channel {name} ({self.channel.platform}): cannot fit: {'; '.join(problems)}",
                          channel=name, overflow=0)

    def fixed(self, text: str) -> Render:
        prepared = self.rules.prepare(text.strip())
        length, problems = self.rules.measure(prepared), self.rules.violations(prepared)
        if length > self.limit or problems:
            over = max(0, length - self.limit)
            raise RenderError(f"channel {self.channel.name}: the hand-written text in {self.post.source} "
                              f"is {length}/{self.limit} ({over} over){'; ' + '; '.join(problems) if problems else ''}; "
                              f"shorten it", channel=self.channel.name, overflow=over)
        return self.finish(text, (prepared, length, problems), truncated=False)

    def finish(self, teaser: str, result, truncated: bool, parts: list[Part] | None = None) -> Render:
        prepared, length, problems = result
        if parts is None:
            self.check_first_cta(prepared)   # a thread carries its CTAs in the last part, checked there
        warnings = list(self.rules.warnings(prepared, self.post))
        payload = self.rules.build_payload(prepared, self.post)
        return Render(
            channel=self.channel.name, platform=self.channel.platform, text=prepared.text,
            length=length, limit=self.limit, fits=length <= self.limit and not problems,
            truncated=truncated, links=prepared.links, warnings=warnings, payload=payload,
            fold=self.rules.fold_index(prepared),
            parts=parts or [Part(prepared.text, length, payload)])

    def check_first_cta(self, prepared: Prepared) -> None:
        if not self.post.ctas or self.override.get("text"):
            return
        first = self.context["ctas"][0]
        # The link is what must survive (a label alone leads nowhere); on Instagram, the label.
        carried = (first.label in prepared.text) if self.rules.link_in_bio else (first.url in prepared.links)
        if not carried:
            raise RenderError(f"template for channel {self.channel.name} drops the first CTA "
                              f"({first.label}); every render must carry it", channel=self.channel.name)

    # ---- threads ---------------------------------------------------------------------
    def thread(self, max_parts: int | None) -> Render:
        """Split the body at sentence ends into numbered parts; the last carries the template's CTAs."""
        max_parts = max_parts or self.rules.thread_max_parts
        source = self.source()
        sentences = list(sentence_cuts(source)) or [len(source)]
        if sentences[-1] != len(source):
            sentences.append(len(source))
        for count_guess in range(2, max_parts + 1):
            chunks = self.pack(source, sentences, count_guess)
            if chunks is not None and len(chunks) <= count_guess:
                break
        else:
            chunks = self.pack(source, sentences, max_parts, allow_cut=True)
        total = len(chunks)
        if total == 1:
            result = self.fits(chunks[0])
            if result:
                return self.finish(chunks[0], result, truncated=False)
            self.overflow()
        parts: list[Part] = []
        prepared_parts: list[Prepared] = []
        for index, chunk in enumerate(chunks, start=1):
            marker = f"{index}/{total}"
            if index < total:
                prepared = self.rules.prepare(self.rules.escape(chunk) + f" {marker}")
                length = self.rules.measure(prepared)
            else:
                result = self.fits(chunk, part=marker)
                if not result:
                    self.overflow()
                prepared, length, _ = result
                self.check_first_cta(prepared)
            parts.append(Part(prepared.text, length, self.rules.build_payload(prepared, self.post)))
            prepared_parts.append(prepared)
        # The head is what was prepared, not its text prepared again: that would escape twice or
        # lose Bluesky's full link URIs behind the shortened ones.
        render = self.finish(chunks[0], (prepared_parts[0], parts[0].length, []), truncated=False, parts=parts)
        render.links = list(dict.fromkeys(link for prepared in prepared_parts for link in prepared.links))
        return render

    def pack(self, source: str, ends: list[int], count: int, allow_cut: bool = False) -> list[str] | None:
        """Greedy: each part takes as many whole sentences as fit with its 'i/n' marker."""
        chunks: list[str] = []
        start = 0
        while start < len(source):
            if len(chunks) == count - 1:
                rest = source[start:].strip()
                last_ends = [e - start for e in ends if e > start]
                if self.fits(rest, part=f"{count}/{count}"):
                    chunks.append(rest)
                    return chunks
                if not allow_cut:
                    return None
                # Out of parts: the last part ends at the longest sentence prefix that fits.
                best = None
                for end in last_ends:
                    piece = textlib.cut(source[start:], end, ellipsis=False)
                    if self.fits(piece, part=f"{count}/{count}"):
                        best = piece
                    else:
                        break
                if best is None:
                    raise RenderError(f"channel {self.channel.name}: the thread's last part cannot fit "
                                      f"its CTAs", channel=self.channel.name, overflow=0)
                chunks.append(best)
                return chunks
            taken = None
            for end in (e for e in ends if e > start):
                piece = source[start:end].strip()
                prepared = self.rules.prepare(self.rules.escape(piece) + f" {len(chunks) + 1}/{count}")
                if self.rules.measure(prepared) <= self.limit and not self.rules.violations(prepared):
                    taken = end
                else:
                    break
            if taken is None:
                # One sentence longer than a part: cut it at a word boundary.
                rest = source[start:]
                words = [w for w in textlib.word_cuts(rest, self.post.lang) if w > 0]
                lo_piece = None
                for w in words:
                    prepared = self.rules.prepare(self.rules.escape(rest[:w].strip()) + f" {len(chunks) + 1}/{count}")
                    if self.rules.measure(prepared) <= self.limit:
                        lo_piece = w
                    else:
                        break
                if lo_piece is None:
                    raise RenderError(f"channel {self.channel.name}: a word is too long for one part",
                                      channel=self.channel.name, overflow=0)
                taken = start + lo_piece
            chunks.append(source[start:taken].strip())
            start = taken
            while start < len(source) and source[start].isspace():
                start += 1
        return chunks


def render_all(post: Post, channels: list[Channel], renderer: Renderer | None = None,
               rules_for: Callable[[Channel], Publisher] | None = None) -> list[Render]:
    renderer = renderer or Renderer()
    renders = []
    for channel in channels:
        rules = rules_for(channel) if rules_for else None
        renders.append(renderer.render(post, channel, rules))
    return renders

