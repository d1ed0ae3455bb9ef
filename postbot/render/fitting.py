"""Fitting a render: the template context, and the search for the longest teaser the platform allows."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

from postbot import text as textlib
from postbot.errors import RenderError
from postbot.models import CTA, Channel, Part, Post, Render
from postbot.platforms.base import Prepared, Rules
from postbot.render import ctas as cta_choice
from postbot.render.hooks import SHAPES, pieces
from postbot.render.pieces import Pieces
from postbot.render.templates import add_utm
from postbot.text import hashtags as hashtaglib

if TYPE_CHECKING:
    from postbot.render.templates import Renderer


SHORT_NOTE_SENTENCES = 3

# A candidate that fits: (prepared, length, problems); prepared is None when it was counted in pieces.
Fit = tuple[Prepared | None, int, list[str]]


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


class Fitting:
    """One post on one channel: composes candidates and keeps the longest that fits."""

    def __init__(self, renderer: Renderer, post: Post, channel: Channel, rules: Rules):
        self.post, self.channel, self.rules = post, channel, rules
        self.rewriter = renderer.rewriter
        self.notes: list[str] = []
        self.override = post.override(channel.name, channel.platform)
        name = self.override.get("template") or channel.template or f"{channel.platform}.j2"
        if not name.endswith(".j2") or "/" in name or "\\" in name:
            # Any other file in a templates folder (`__init__.py`) rendered as an empty post.
            where = f"{post.source}: overrides" if self.override.get("template") else channel.var("TEMPLATE")
            raise RenderError(f"{where}: template {name!r} must be the name of a .j2 file in the templates "
                              f"folder, e.g. {channel.platform}.j2", channel=channel.name)
        self.template = renderer.template(rules, name)
        platform_limit = rules.limit_for(post)
        wanted = self.override.get("limit")
        if wanted is not None and int(wanted) > platform_limit:
            raise RenderError(f"{post.source}: overrides for {channel.name}: limit {wanted} is above "
                              f"{channel.platform}'s {platform_limit}; an override may only lower the limit",
                              channel=channel.name)
        self.limit = int(wanted or platform_limit)
        self.tags = self._decide_tags()
        self.context = self._context()
        # The search's state: the template's fixed parts for the CTAs in `pieces_for`.
        self.pieces: Pieces | None = None
        self.pieces_for: list[CTA] | None = None

    def _decide_tags(self) -> list[hashtaglib.Decision]:
        """Each tag as this platform's hashtag parser reads it; a tag with nothing usable left stops the render."""
        if self.override.get("text"):
            return []                   # a hand-written text prints no template tags
        decisions = hashtaglib.decide_all(self.rules.platform, self.post.tags)
        refused = [d.refusal for d in decisions if d.refusal]
        if refused:
            raise RenderError(f"channel {self.channel.name} ({self.channel.platform}): {refused[0]}",
                              channel=self.channel.name, overflow=0)
        return decisions

    # ---- template context ---------------------------------------------------------
    def _context(self) -> dict[str, Any]:
        post, platform = self.post, self.channel.platform
        utm = self.channel.utm and self.override.get("utm", True) is not False
        tag: Callable[[str], str] = (lambda url: add_utm(url, platform, post.slug)) if utm else (lambda url: url)
        every_cta = [CTA(c.label, tag(c.url)) for c in post.ctas]
        self.cta_choice = self._cta_choice()
        ctas = cta_choice.pick(every_cta, "all" if self.cta_choice == "fit" else self.cta_choice)
        # A title the article (or written teaser) starts with would only repeat it.
        source = (self.override.get("teaser") or post.teaser or post.body or "").lstrip()
        title = None if post.title and source.startswith(post.title.rstrip(".…!? ")) else post.title
        return {
            "title": title, "url": tag(post.url) if post.url else None,
            "ctas": ctas, "all_ctas": every_cta,
            "tags": [d.text for d in self.tags if d.text is not None], "hashtags": hashtaglib.hashtag_line(self.tags),
            "post": post, "channel": self.channel.name, "platform": platform,
            "link_in_bio": self.rules.link_in_bio, "limit": self.limit,
        }

    def _cta_choice(self) -> str | tuple[int, ...]:
        """Front matter (channel, then post), then <NAME>_CTAS, then the platform's way: every CTA where
        there is room, the first on X and Bluesky (hook and one link read best in a short post;
        X bills link posts), else as many as leave
        the hook whole ('fit')."""
        raw = self.override.get("show_ctas") or self.post.show_ctas or self.channel.setting("CTAS")
        if raw:
            return cta_choice.parse_cta_choice(raw)   # checked when the post and settings were read
        if self.rules.all_ctas or self.rules.link_in_bio:
            return "all"
        return "first" if self.channel.platform in ("x", "bluesky") else "fit"

    def strategy(self) -> str:
        """hook (default) or lead: front matter for the channel, the post's, then <NAME>_TEASER."""
        return str(self.override.get("teaser_strategy") or self.post.teaser_strategy
                   or self.channel.setting("TEASER") or "hook").lower()

    def compose(self, teaser: str, **extra: Any) -> tuple[Prepared, int, list[str]]:
        from jinja2.exceptions import SecurityError
        try:
            text = self.template.render(self.context, teaser=teaser, **extra).strip()
        except SecurityError as exc:
            raise RenderError(f"template {self.template.filename or self.template.name}: {exc}; "
                              f"POSTBOT_TEMPLATE_SANDBOX=on refuses what a template may not do",
                              channel=self.channel.name) from None
        prepared = self.rules.prepare(text, self.post)
        return prepared, self.rules.measure(prepared), self.rules.violations(prepared)

    def fits(self, teaser: str, **extra: Any) -> tuple[Prepared, int, list[str]] | None:
        prepared, length, problems = self.compose(teaser, **extra)
        return (prepared, length, problems) if length <= self.limit and not problems else None

    # ---- the search ----------------------------------------------------------------
    def source(self) -> str:
        """What the teaser is cut from: a hand-written teaser, else the platform's shape of the article's
        hook pieces, else (strategy lead) the article from its first line."""
        written = self.override.get("teaser") or self.post.teaser
        if written:
            return written.strip()
        if self.strategy() == "hook" and self.post.body and not self.short_note():
            shape = SHAPES.get(self.channel.platform, SHAPES["generic"])
            composed = pieces(self.post.body, self.post.title).compose(shape)
            if composed:
                return composed
        return self.lead_source()

    def short_note(self) -> bool:
        """A body of a few sentences is already a post: sent as written (hashtags in it and all), if it fits."""
        body = self.lead_source()
        if len(body) > (self.rules.teaser_max or self.limit) or len(sentence_cuts(body)) > SHORT_NOTE_SENTENCES:
            return False
        return self.fits(body) is not None

    def lead_source(self) -> str:
        return (self.post.body or "").strip()

    def fit_ctas(self, source: str) -> None:
        """'fit': keep the most CTAs (in order, at least one) that leave the teaser's first paragraph whole."""
        every = self.context["ctas"]
        if self.cta_choice != "fit" or len(every) <= 1:
            return
        head = source.split("\n\n", 1)[0]
        for count in range(len(every), 0, -1):
            self.context["ctas"] = every[:count]
            if count == 1 or self.candidate_fits(head) is not None:
                return

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

    def longest_fit(self, source: str, cuts: list[int], ellipsis: bool) -> tuple[str, Fit] | None:
        """Binary search over ascending cut points; longer teasers never measure shorter."""
        found, lo, hi = None, 0, len(cuts) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            teaser = cut_teaser(source, cuts[mid], ellipsis)
            result = self.candidate_fits(teaser)
            if result is not None:
                found, lo = (teaser, result), mid + 1
            else:
                hi = mid - 1
        return found

    def candidate_fits(self, teaser: str) -> Fit | None:
        """A teaser's (prepared, length, problems) if it fits, else None. Counted piece by piece where
        that is exact (pieces.py), and then prepared is None: kept() builds it for the one teaser kept."""
        pieces = self.current_pieces()
        counted = pieces.count(teaser) if pieces else None
        if counted is None:
            return self.fits(teaser)
        length, problems = counted
        return (None, length, problems) if length <= self.limit and not problems else None

    def current_pieces(self) -> Pieces | None:
        """The template's fixed parts with the CTAs chosen so far, rendered once for all candidates."""
        if self.pieces_for is not self.context["ctas"]:
            self.pieces_for = self.context["ctas"]
            self.pieces = Pieces.of(self.rules, self.post, self.template, self.context)
        return self.pieces

    def search(self, source: str) -> tuple[str, Fit, bool]:
        """The longest teaser that fits, its result and whether it was cut; stops the render if none does."""
        window = self.window(source)
        whole_fits = window == source and (self.rules.teaser_max is None or len(source) <= self.rules.teaser_max)
        if whole_fits:
            result = self.candidate_fits(source)
            if result is not None:
                return source, result, False
        source = window
        sentences = self.cap(sentence_cuts(source), source)
        found = self.longest_fit(source, sentences, ellipsis=False)
        if found is None:
            # Word (or phrase) cuts are dearer to find; only needed when no whole sentence fits.
            first_sentence = sentences[0] if sentences else len(source)
            words = [i for i in self.cap(word_cuts(source, self.post.lang), source) if i < first_sentence]
            found = self.longest_fit(source, words, ellipsis=True)
        if found is None:
            result = self.candidate_fits("")
            if result is not None:
                found = "", result
        if found is None:
            self.overflow()
        teaser, result = found
        return teaser, result, True

    def kept(self, teaser: str, result: Fit) -> tuple[Prepared, int, list[str]]:
        """The teaser the search kept, prepared: what is sent. Counted in pieces, its text is the
        template's fixed parts around it (exactly what a render gives, pieces.py) and its length
        and problems are the pieces' (Rules.tally; tests hold them to measure() and violations())."""
        prepared, length, problems = result
        if prepared is None:
            prepared = self.rules.prepare(self.pieces.text(teaser), self.post)   # type: ignore[union-attr]
        return prepared, length, problems

    def run(self) -> Render:
        if self.override.get("text"):
            return self.fixed(self.override["text"])
        thread = self.override.get("thread", self.post.thread)
        if thread and self.rules.supports_threads:
            from postbot.render.threads import fit_thread   # threads build on this module

            return fit_thread(self, int(thread) if not isinstance(thread, bool) else None)
        source = self.source()
        self.fit_ctas(source)
        written = self.from_model()
        if written:
            return written
        teaser, result, truncated = self.search(source)
        return self.finish(teaser, self.kept(teaser, result), truncated=truncated)

    def from_model(self) -> Render | None:
        """A teaser from the user's language model, if one is set and its answer passes every check
        the extractive teaser would; else None and a warning saying why."""
        if self.rewriter is None or self.override.get("teaser") or self.post.teaser or not self.post.body:
            return None
        from postbot.render.rewrite import RewriteFailed, invented_links

        room = self.limit - self.compose("")[1]
        shape = ", ".join(SHAPES.get(self.channel.platform, SHAPES["generic"]))
        reject = f"the teaser from POSTBOT_LLM_MODEL={self.rewriter.model} was not used"
        try:
            answer = self.rewriter.teaser(self.post, self.channel.platform, room, shape)
        except RewriteFailed as exc:
            self.notes.append(f"{reject}: {exc}; using postbot's own teaser")
            return None
        invented = invented_links(answer, self.post)
        prepared, length, problems = self.compose(answer)
        chosen = [c.url for c in self.context["ctas"]]
        dropped = [] if self.rules.link_in_bio else [u for u in chosen if u not in prepared.links]
        if invented:
            why = f"it carries a link the post does not have ({invented[0]})"
        elif length > self.limit or problems:
            why = f"the post would be {length}/{self.limit}{'; ' + '; '.join(problems) if problems else ''}"
        elif dropped:
            why = f"it drops a CTA ({dropped[0]})"
        else:
            render = self.finish(answer, (prepared, length, problems), truncated=False)
            render.warnings.append(f"teaser written by {self.rewriter.model} (POSTBOT_LLM_URL) and checked: "
                                   f"fits, keeps the CTAs, no invented links")
            return render
        self.notes.append(f"{reject}: {why}; using postbot's own teaser")
        return None

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
        prepared = self.rules.prepare(text.strip(), self.post)
        length, problems = self.rules.measure(prepared), self.rules.violations(prepared)
        if length > self.limit or problems:
            over = max(0, length - self.limit)
            raise RenderError(f"channel {self.channel.name}: the hand-written text in {self.post.source} "
                              f"is {length}/{self.limit} ({over} over){'; ' + '; '.join(problems) if problems else ''}; "
                              f"shorten it", channel=self.channel.name, overflow=over)
        return self.finish(text, (prepared, length, problems), truncated=False)

    def finish(self, teaser: str, result, truncated: bool, parts: list[Part] | None = None) -> Render:
        prepared, length, problems = result
        if not prepared.text.strip():
            raise RenderError(f"channel {self.channel.name}: {self.post.source} renders as an empty post; raise "
                              f"the channel's limit override or check its template", channel=self.channel.name)
        if parts is None:
            self.check_first_cta(prepared)   # a thread carries its CTAs in the last part, checked there
        warnings = self.notes + [w for d in self.tags for w in d.warnings] + list(self.rules.warnings(prepared, self.post))
        payload = self.rules.build_payload(prepared, self.post)
        return Render(
            channel=self.channel.name, platform=self.channel.platform, text=prepared.text,
            length=length, limit=self.limit, fits=length <= self.limit and not problems,
            truncated=truncated, links=prepared.links, warnings=warnings, payload=payload,
            fold=self.rules.fold_index(prepared), hashtags=[d.to_dict() for d in self.tags],
            parts=parts or [Part(prepared.text, length, payload, list(prepared.links))])

    def check_first_cta(self, prepared: Prepared) -> None:
        if not self.context["ctas"] or self.override.get("text"):
            return
        first = self.context["ctas"][0]
        # The link is what must survive (a label alone leads nowhere); on Instagram, the label.
        carried = (first.label in prepared.text) if self.rules.link_in_bio else (first.url in prepared.links)
        if not carried:
            raise RenderError(f"template for channel {self.channel.name} drops the first CTA "
                              f"({first.label}); every render must carry it", channel=self.channel.name)
