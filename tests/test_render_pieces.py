"""Counting in pieces (render/pieces.py) is exact: tallies add up to what prepare, measure and
violations say of the whole text, and a render counted in pieces is the render counted whole."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from postbot import text as textlib
from postbot.errors import RenderError
from postbot.models import CTA, Channel, Post
from postbot.platforms import PLATFORMS, rules_class
from postbot.platforms.base import Rules, add_tallies
from postbot.platforms.discord import card_description, clip
from postbot.platforms.linkedin import LinkedInRules, escape_little_text, plain_description
from postbot.posts import load_post
from postbot.render import Renderer, templates_dir
from postbot.render.pieces import Pieces, prints_teaser_plainly

ROOT = Path(__file__).resolve().parents[1]
POSTS = sorted((ROOT / "tests" / "corpus").glob("*.md")) + sorted((ROOT / "posts").glob("*.md"))
TALLIED = [p for p in PLATFORMS if rules_class(p).tally is not Rules.tally]

# Pieces that meet at a line feed in every way a count could join them across it.
FRAGMENTS = ["strength", "glutes.", "é", "e\u0301", "\u0301", "\u1100", "\u1161", "\u11a8", "한국어", "👍🏽", "👨",
             "\u200d", "👩", "🇬", "🇧", "1", "\u20e3", "\ufe0f", "#", "#tag", "＃タグ", "$TSLA", "(", ")",
             "https://example.com/path_(x)", "HTTPS://EXAMPLE.COM", "example.org/a?b=c", "t.co/abc",
             "example.xn--p1ai", "a.b.c.d", "@user@mastodon.social", "@user", "日本語の文章", "مرحبا", "ไทย",
             "\u0600", "\u0903", "\r", "\u2026", "…", "x" * 23, ".", "-", "_", "Mr.", "?!", "e.g."]
SEPARATORS = st.sampled_from([" ", "", "\n", "\n\n", "\r\n", "\t"])
TEXTS = st.lists(st.tuples(st.sampled_from(FRAGMENTS), SEPARATORS), min_size=1, max_size=30).map(
    lambda pairs: "".join(f + s for f, s in pairs))


def channel(platform: str, **kw) -> Channel:
    return Channel(name=platform, kind="outbox", platform=platform, **kw)


def whole_count(rules: Rules, text: str, post: Post | None) -> tuple[int, list[str]]:
    prepared = rules.prepare(text, post)
    return rules.measure(prepared), rules.violations(prepared)


def splits(text: str) -> list[int]:
    """Every place counting may split: before a line feed that does not follow a carriage return."""
    return [i for i, char in enumerate(text) if char == "\n" and text[i - 1:i] != "\r"]


def count_in_pieces(rules: Rules, text: str, cuts: list[int], post: Post | None) -> tuple[int, list[str]]:
    bounds = [0, *cuts, len(text)]
    tally = rules.tally(text[:bounds[1]], post, first=True)
    for start, end in zip(bounds[1:], bounds[2:]):
        tally = add_tallies(tally, rules.tally(text[start:end], post, first=False))
    return rules.judge(tally)


def test_the_platforms_that_count_their_renders_in_pieces():
    assert set(TALLIED) >= {"x", "bluesky", "mastodon", "threads"}


@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, platform=st.sampled_from(TALLIED), warning=st.sampled_from(["", "CW: é\u0301 https://a.io"]))
def test_tallies_add_up_to_the_count_of_the_whole_text(text, platform, warning):
    rules = rules_class(platform)(channel(platform))
    post = Post(source="t.md", slug="t", title="t", body="", content_warning=warning or None)
    expected = whole_count(rules, text, post)
    places = splits(text)
    assert count_in_pieces(rules, text, places, post) == expected
    for place in places:                    # and split once, at each place
        assert count_in_pieces(rules, text, [place], post) == expected


def test_twitter_text_conformance_texts_count_the_same_in_pieces():
    import yaml

    data = ROOT.parent / "shared" / "conformance" / "twitter-text"
    files = sorted(data.glob("*.yml"))
    if not files:
        pytest.fail(f"twitter-text conformance data not found in {data} (the shared folder beside the repo)")
    groups = [group for path in files for group in (yaml.safe_load(path.read_text("utf-8")) or {}).get("tests", {}).values()]
    texts = [case["text"] for group in groups if isinstance(group, list)
             for case in group if isinstance(case, dict) and isinstance(case.get("text"), str)]
    assert len(texts) > 100
    rules = rules_class("x")(channel("x"))
    for first, second in zip(texts, texts[1:]):
        text = f"{first}\n{second}"
        assert count_in_pieces(rules, text, splits(text), None) == whole_count(rules, text, None), text


# ---- whole renders: counted in pieces and counted whole ----------------------------------------
def whole_templates(tmp_path: Path) -> Path:
    """The built-in templates, printing the teaser through a variable: the same text, but no longer
    a plain `{{ teaser }}`, so every candidate is rendered and measured whole."""
    folder = tmp_path / "whole"
    folder.mkdir()
    for template in templates_dir().glob("*.j2"):
        source = template.read_text("utf-8")
        assert "{{ teaser }}" in source, template.name
        (folder / template.name).write_text(source.replace("{{ teaser }}", "{% set t = teaser %}{{ t }}"), "utf-8")
    return folder


def render_or_error(renderer: Renderer, post: Post, platform: str):
    try:
        return asdict(renderer.render(post, channel(platform)))
    except RenderError as exc:
        return str(exc)


@pytest.mark.parametrize("path", POSTS, ids=lambda p: p.name)
def test_every_post_renders_the_same_counted_in_pieces_or_whole(path, tmp_path):
    post = load_post(path)
    quick, whole = Renderer(), Renderer(user_templates=whole_templates(tmp_path))
    for platform in PLATFORMS:
        for strategy in ("hook", "lead"):
            post.teaser_strategy = strategy
            assert render_or_error(quick, post, platform) == render_or_error(whole, post, platform), (platform, strategy)


BODY_WORDS = st.sampled_from(["strength", "glutes.", "é", "e\u0301", "👍🏽", "👨‍👩‍👧‍👦", "🇬🇧", "日本語の文章。", "مرحبا",
                              "https://example.com/path_(x)", "example.org/a", "#tag", "$TSLA", "\r\n",
                              "@user@mastodon.social", "<b>&amp;</b>", "\\|{}[]()*_~", "Mr.", "end.", "?!", "\n\n",
                              "x" * 60, "ไทย", "한국어", "\u0301", "…"])


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(words=st.lists(BODY_WORDS, min_size=1, max_size=120), platform=st.sampled_from(PLATFORMS),
       teaser=st.sampled_from([None, "A written teaser. With a link: example.com/x\n#no"]),
       warning=st.sampled_from([None, "CW: lifting"]))
def test_any_post_renders_the_same_counted_in_pieces_or_whole(tmp_path, words, platform, teaser, warning):
    post = Post(source="t.md", slug="t", title="Hip thrusts", body=" ".join(words), teaser=teaser,
                url="https://example.com/blog/hip-thrust", content_warning=warning, tags=["glutes", "Über40"],
                ctas=[CTA("Personal Training", "https://example.com/pt"), CTA("Coaching", "https://example.com/oc?a=b")])
    folder = tmp_path / "whole"
    if not folder.exists():
        whole_templates(tmp_path)
    assert render_or_error(Renderer(), post, platform) == render_or_error(Renderer(user_templates=folder), post, platform)


def test_built_in_templates_are_counted_in_pieces():
    post = load_post(ROOT / "posts" / "hip-thrust-alternatives.md")
    renderer = Renderer()
    for platform in TALLIED:
        rules = rules_class(platform)(channel(platform))
        template = renderer.template(rules, f"{platform}.j2")
        assert prints_teaser_plainly(template), platform
        context = {"title": "t", "url": post.url, "ctas": post.ctas, "all_ctas": post.ctas, "tags": [], "hashtags": "#a",
                   "post": post, "channel": platform, "platform": platform, "link_in_bio": False, "limit": 300}
        pieces = Pieces.of(rules, post, template, context)
        assert pieces is not None and pieces.tail.startswith("\n"), platform


@pytest.mark.parametrize("source", [
    "{{ teaser|upper }}\n\n{{ url }}",                                   # a filter
    "{% if teaser|length > 5 %}{{ teaser }}{% endif %}\n\n{{ url }}",      # a test on it
    "{% macro m(t) %}{{ t }}{% endmacro %}{{ m(teaser) }}\n\n{{ url }}",   # a macro call
    "{% macro m() %}{{ teaser }}{% endmacro %}{{ m() }}\n\n{{ url }}",     # printed inside a macro
    "{% filter upper %}{{ teaser }}{% endfilter %}\n\n{{ url }}",          # a filter block
    "{% set teaser = 'x' ~ teaser %}{{ teaser }}\n\n{{ url }}",            # reassigned
    "{% include 'inner.j2' %}\n\n{{ url }}",                              # an include that may print it
])
def test_templates_that_use_the_teaser_otherwise_are_counted_whole(tmp_path, source):
    (tmp_path / "x.j2").write_text(source, "utf-8")
    (tmp_path / "inner.j2").write_text("{{ teaser|upper }}", "utf-8")
    renderer = Renderer(user_templates=tmp_path)
    rules = rules_class("x")(channel("x"))
    assert not prints_teaser_plainly(renderer.template(rules, "x.j2"))
    post = Post(source="t.md", slug="t", title="t", body="word " * 200, url="https://example.com/a")
    render = renderer.render(post, channel("x"))
    assert render.fits and render.length == textlib.x_length(render.text) <= 280


def test_a_teaser_printed_twice_is_counted_whole(tmp_path):
    (tmp_path / "x.j2").write_text("{% for i in [1, 2] %}{{ teaser }}\n{% endfor %}{{ url }}", "utf-8")
    post = Post(source="t.md", slug="t", title="t", body="A sentence here. " * 40, url="https://example.com/a")
    render = Renderer(user_templates=tmp_path).render(post, channel("x"))
    assert render.text.count("A sentence here.") >= 2 and render.length == textlib.x_length(render.text) <= 280


# ---- the faster text helpers against plain per-character readings -------------------------------
@hsettings(max_examples=500, deadline=None)
@given(text=st.lists(st.sampled_from(list("ab .\n\t\r") + FRAGMENTS[:20] + ["\u0600", "\u0903", "\u094d", "\u0915"]),
                     max_size=40).map("".join))
def test_grapheme_len_is_the_number_of_clusters(text):
    assert textlib.grapheme_len(text) == len(textlib.graphemes(text))


def clip_by_char(value: str, units: int) -> str:
    value = value.strip()
    if textlib.utf16_len(value) <= units:
        return value
    out, used = [], 1
    for char in value:
        used += textlib.utf16_len(char)
        if used > units:
            break
        out.append(char)
    return "".join(out).rstrip() + "…"


@hsettings(max_examples=300, deadline=None)
@given(value=st.text(st.sampled_from(list("ab  ,;-") + ["😀", "é", "\u0301", "日"]), max_size=60),
       units=st.integers(min_value=0, max_value=40))
def test_discord_clip_keeps_the_longest_start_within_the_units(value, units):
    assert clip(value, units) == clip_by_char(value, units)


@hsettings(max_examples=200, deadline=None)
@given(body=st.text(st.sampled_from(list("ab \n\t,;:-") + ["😀", "é", "\u3000"]), max_size=2000),
       room=st.integers(min_value=1, max_value=400))
def test_cards_read_the_same_from_the_start_of_the_body(body, room):
    post = Post(source="t.md", slug="t", title="t", body=body)
    source = " ".join(body.split())
    if textlib.utf16_len(source) <= room:
        expected = source
    else:
        cut = clip_by_char(source, room)[:-1]
        space = cut.rfind(" ")
        expected = (cut[:space] if space > room // 2 else cut).rstrip(" ,;:-") + "…"
    assert card_description(post, room) == expected
    whole = " ".join(body.split())
    if len(whole) <= 200:
        assert plain_description(post) == whole
    else:
        cut_at = whole.rfind(" ", 0, 199)
        assert plain_description(post) == whole[:cut_at if cut_at > 0 else 199].rstrip(" ,;:-") + "…"


@hsettings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from(list("ab #_*\\\n") + ["é", "😀"]), max_size=600))
def test_linkedin_fold_maps_the_shown_fold_into_the_escaped_text(text):
    from postbot.platforms.base import Prepared, word_fold

    rules = LinkedInRules(channel("linkedin"))
    escaped = escape_little_text(text)
    index = count = 0
    while index < len(escaped) and count < rules.fold:
        index += 2 if escaped[index] == "\\" else 1
        count += 1
    expected = None if len(text) <= rules.fold else word_fold(escaped, index)
    assert rules.fold_index(Prepared(escaped, [])) == expected


def test_an_edited_template_is_checked_again_across_processes(tmp_path, monkeypatch):
    """The check's verdict is kept on disk by the template's source: an edit is never read as the
    old verdict, in this process or the next (a new Renderer reads the kept files afresh)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "templates"
    folder.mkdir()
    template = folder / "x.j2"
    post = Post(source="t.md", slug="t", title="t", body="A sentence here. " * 40, url="https://example.com/a")
    template.write_text("{{ teaser }}\n\n{{ url }}", "utf-8")
    plain = Renderer(user_templates=folder).render(post, channel("x"))
    kept = list((tmp_path / "cache" / "postbot" / "templates").glob("teaser-*"))
    assert [path.read_text() for path in kept] == ["plain"]
    template.write_text("{{ teaser|upper }}\n\n{{ url }}", "utf-8")
    edited = Renderer(user_templates=folder).render(post, channel("x"))
    assert edited.text.split("\n\n")[0] == plain.text.split("\n\n")[0].upper()
    assert edited.length == textlib.x_length(edited.text) <= 280
    assert sorted(path.read_text() for path in kept[0].parent.glob("teaser-*")) == ["other", "plain"]
