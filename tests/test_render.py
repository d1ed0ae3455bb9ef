"""Rendering: templates filled, teasers fitted by each platform's own counting, links tagged."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from postbot import text as textlib
from postbot.errors import RenderError
from postbot.models import CTA, Channel, Post
from postbot.platforms import PLATFORMS, rules_class
from postbot.render import Renderer, add_utm

RENDERER = Renderer()
SENTENCES = ("Glutes grow when you load them through a full range of motion. "
             "The hip thrust loads the top of the movement only. "
             "Split squats and Romanian deadlifts train the stretched position as well. "
             "That is where most growth happens, according to recent research. ") * 6


def post(body=SENTENCES, **fields) -> Post:
    base = dict(source="t.md", slug="hip-thrust", title="Hip thrusts, reconsidered", body=body,
                url="https://example.com/blog/hip-thrust",
                ctas=[CTA("Personal Training", "https://example.com/pt"), CTA("Online Coaching", "https://example.com/oc?ref=blog")],
                tags=["glutes", "strength"])
    base.update(fields)
    return Post(**base)


def channel(platform: str, **kw) -> Channel:
    return Channel(name=platform, kind="outbox", platform=platform, **kw)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_fits_and_carries_the_first_cta(platform):
    for strategy in ("hook", "lead"):
        render = RENDERER.render(post(image="https://example.com/a.jpg", image_alt="alt", teaser_strategy=strategy),
                                 channel(platform))
        assert render.fits and render.length <= render.limit
        assert render.truncated == (strategy == "lead")     # the hook pieces fit whole; the long body does not
        first = "Personal Training" if platform == "instagram" else "https://example.com/pt"
        assert first in render.text or any(link.startswith(first) for link in render.links)


def test_platforms_with_room_carry_every_cta():
    for platform in ("linkedin", "facebook", "telegram"):
        render = RENDERER.render(post(), channel(platform))
        assert any("example.com/oc" in link for link in render.links), platform
    assert not any("example.com/oc" in link for link in RENDERER.render(post(), channel("x")).links)


def test_instagram_says_link_in_bio_and_has_no_links():
    render = RENDERER.render(post(image="https://example.com/a.jpg"), channel("instagram"))
    assert "Personal Training: link in bio" in render.text
    assert render.links == []


def test_cut_prefers_the_last_sentence_that_fits():
    render = RENDERER.render(post(), channel("x"))
    teaser = render.text.split("\n\n")[0]
    assert teaser.endswith(".") and teaser in SENTENCES
    assert not teaser.endswith("…")


def test_a_single_long_sentence_is_cut_at_a_word_with_an_ellipsis():
    body = "Strength " + "training really matters for everyone who wants to move well " * 10 + "."
    render = RENDERER.render(post(body=body), channel("x"))
    teaser = render.text.split("\n\n")[0]
    assert teaser.endswith("…")
    assert body.startswith(teaser[:-1]) and body[len(teaser) - 1] == " "    # cut at a space, not in a word


def test_never_cuts_inside_a_url():
    url = "https://example.com/a/very/long/path/that/should/stay/whole?with=query&and=more"
    body = ("Read this " + url + " and more words follow here ") * 20
    for platform in ("x", "bluesky", "mastodon", "threads"):
        render = RENDERER.render(post(body=body), channel(platform))
        teaser = render.text.split("\n\n")[0]
        for fragment in teaser.split():
            if fragment.startswith("https://example.com/a"):
                assert fragment == url, platform


def test_japanese_is_cut_only_at_phrase_boundaries():
    body = "今日はとても天気が良いので公園に散歩に行きました" * 30
    render = RENDERER.render(post(body=body, lang="ja"), channel("x"))
    teaser = render.text.split("\n\n")[0].rstrip("…")
    import budoux
    phrases = budoux.load_default_japanese_parser().parse(body)
    boundaries, position = set(), 0
    for phrase in phrases:
        position += len(phrase)
        boundaries.add(position)
    assert len(teaser) in boundaries


def test_utm_tags_without_duplicating_existing_parameters():
    assert add_utm("https://e.com/p", "x", "slug") == "https://e.com/p?utm_source=x&utm_medium=social&utm_campaign=slug"
    assert add_utm("https://e.com/p?utm_source=news&a=1", "x", "s") == \
        "https://e.com/p?utm_source=news&a=1&utm_medium=social&utm_campaign=s"
    kept = "https://e.com/p?utm_source=a&utm_medium=b&utm_campaign=c"
    assert add_utm(kept, "x", "s") == kept
    render = RENDERER.render(post(), channel("x", utm=False))
    assert "https://example.com/pt" in render.links


def test_bluesky_payload_facets_cover_their_links_and_tags():
    render = RENDERER.render(post(), channel("bluesky"))
    record = render.payload
    encoded = record["text"].encode("utf-8")
    kinds = set()
    for facet in record["facets"]:
        covered = encoded[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode("utf-8")
        feature = facet["features"][0]
        kinds.add(feature["$type"])
        if feature["$type"].endswith("#tag"):
            assert covered == "#" + feature["tag"]
        else:
            assert feature["uri"].startswith(("https://example.com/pt", "https://example.com/blog/hip-thrust"))
            assert covered.rstrip(".").rstrip("…") in feature["uri"].replace("https://", "")
    assert kinds == {"app.bsky.richtext.facet#link", "app.bsky.richtext.facet#tag"}


def test_hand_written_text_is_used_verbatim_or_refused():
    ok = RENDERER.render(post(overrides={"x": {"text": "Short and sweet https://example.com"}}), channel("x"))
    assert ok.text == "Short and sweet https://example.com" and not ok.truncated
    with pytest.raises(RenderError, match="hand-written text"):
        RENDERER.render(post(overrides={"x": {"text": "word " * 100}}), channel("x"))


def test_user_templates_override_the_built_in_ones(tmp_path):
    (tmp_path / "x.j2").write_text("CUSTOM {{ teaser }} {{ ctas[0].url }}")
    render = Renderer(tmp_path).render(post(), channel("x"))
    assert render.text.startswith("CUSTOM ")


def test_threads_split_into_numbered_parts_that_each_fit():
    render = RENDERER.render(post(thread=5), channel("x"))
    assert len(render.parts) == 5
    for index, part in enumerate(render.parts, start=1):
        assert part.length <= 280 and f"{index}/5" in part.text
        assert textlib.x_length(part.text) == part.length
    assert "https://example.com/pt" in render.parts[-1].text


# ---- properties: any post renders within every limit or fails cleanly -----------------------
WORDS = st.sampled_from(["strength", "glutes", "é", "naïve", "👍🏽", "👨‍👩‍👧‍👦", "🇬🇧", "日本語の文章", "مرحبا",
                         "שלום", "e\u0301", "1⃣", "https://example.com/path_(x)", "example.org/a", "#tag",
                         "@user@mastodon.social", "<b>&amp;</b>", "\\|{}[]()*_~", "Mr.", "end.", "?!", "\n\n",
                         "x" * 60, "ไทย", "한국어"])
BODIES = st.lists(WORDS, min_size=1, max_size=200).map(" ".join)
LABELS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, label=LABELS, platform=st.sampled_from(PLATFORMS),
       tags=st.lists(st.from_regex(r"[a-z]{1,12}", fullmatch=True), max_size=4))
def test_any_post_fits_or_fails_with_a_clear_error(body, label, platform, tags):
    item = post(body=body, ctas=[CTA(label.strip(), "https://example.com/cta")], tags=tags, image="https://e.com/i.jpg")
    try:
        render = RENDERER.render(item, channel(platform))
    except RenderError as exc:
        assert platform in str(exc)
        return
    rules = rules_class(platform)(channel(platform))
    assert render.fits and render.length <= render.limit
    assert rules.measure(rules.prepare(render.text) if platform not in ("linkedin", "bluesky") else
                         _reprepared(rules, render)) == render.length
    for part in render.parts:
        assert part.length <= render.limit


def _reprepared(rules, render):
    from postbot.platforms.base import Prepared
    return Prepared(render.text, render.links)


def test_a_template_that_drops_the_first_cta_link_is_refused(tmp_path):
    (tmp_path / "x.j2").write_text("{{ teaser }}\n\n{{ ctas[0].label }}")     # the label, but no link
    with pytest.raises(RenderError, match="drops the first CTA"):
        Renderer(tmp_path).render(post(), channel("x"))


def test_a_bluesky_thread_keeps_full_links_in_its_facets_and_links():
    body = "Read the research at https://example.com/studies/hip-thrust-emg-2024 before you decide. " + SENTENCES
    render = RENDERER.render(post(body=body, thread=4), channel("bluesky"))
    assert len(render.parts) == 4
    assert render.payload == render.parts[0].payload
    assert "https://example.com/studies/hip-thrust-emg-2024" in render.links
    assert any(link.startswith("https://example.com/pt") for link in render.links)
    uris = [f["features"][0].get("uri") for f in render.payload.get("facets", [])]
    assert "https://example.com/studies/hip-thrust-emg-2024" in uris
