"""Hashtags decided per platform: twitter-text's conformance data, the npm references, Mastodon's
pattern, and a corpus of posts in ten languages previewed and queued on every platform."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from postbot.text import hashtags
from postbot import text as textlib
from postbot.errors import PostError, RenderError
from postbot.posts import load_post
from postbot.platforms import PLATFORMS
from postbot.platforms.linkedin import unescape_little_text
from postbot.render import Renderer
from tests.process import postbot
from tests.reference.node_ref import run_reference
from tests.test_text_conformance import cases

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.md"))
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"


# ---- X: twitter-text's own conformance cases ------------------------------------------------------
@pytest.mark.parametrize("group,case", cases("extract.yml", ("hashtags", "hashtags_from_astral")))
def test_x_hashtag_extraction_conformance(group, case):
    assert [tag for _, _, tag in hashtags.x_hashtags(case["text"])] == case["expected"], case["description"]


@pytest.mark.parametrize("group,case", cases("extract.yml", ("hashtags_with_indices",)))
def test_x_hashtag_indices_conformance(group, case):
    expected = [(item["indices"][0], item["indices"][1], item["hashtag"]) for item in case["expected"]]
    assert hashtags.x_hashtags(case["text"]) == expected, case["description"]


@pytest.mark.parametrize("group,case", cases("validate.yml", ("hashtags",)))
def test_x_hashtag_validation_conformance(group, case):
    found = hashtags.x_hashtags(case["text"])
    valid = len(found) == 1 and found[0][:2] == (0, len(case["text"]))
    assert valid == case["expected"], case["description"]


# ---- Mastodon: Tag::HASHTAG_RE ---------------------------------------------------------------------
@pytest.mark.parametrize("text,tags", [
    ("#hashtag and #1hashtag", ["hashtag", "1hashtag"]),
    ("#2024 alone", []),                                            # needs an Alphabetic character
    ("#Récupération #योग #ออกกำลังกาย #筋トレ", ["Récupération", "योग", "ออกกำลังกาย", "筋トレ"]),
    ("#il·lusió #ヒップ・スラスト #می\u200cخواهم", ["il·lusió", "ヒップ・スラスト", "می\u200cخواهم"]),
    ("#·lead #trail· ok", ["trail"]),                              # separators only inside
    ("#snake_case_ #_lead", ["snake_case_", "_lead"]),
    ("no#space #gains💪", ["gains"]),                               # a space before, emoji ends it
    ("＃fullwidth #a-b", ["fullwidth", "a"]),
    ("#foohttp://example.com", ["foo"]),
])
def test_mastodon_pattern(text, tags):
    assert [tag for _, _, tag in hashtags.mastodon_hashtags(text)] == tags


# ---- the decisions, platform by platform ---------------------------------------------------------
def decided(platform: str, tag: str):
    decision = hashtags.decide(platform, tag)
    return decision.text, decision.clickable, decision.refusal is None


@pytest.mark.parametrize("tag,x,mastodon,bluesky,linkedin,telegram", [
    ("Récupération", "Récupération", "Récupération", "Récupération", "Récupération", "Récupération"),
    ("योग", "योग", "योग", "योग", "योग", "योग"),
    ("💪gains", "gains", "gains", "💪gains", "gains", "gains"),
    (f"{FAMILY}fam", "fam", "fam", "\U0001F468\U0001F469\U0001F467fam", "fam", "fam"),
    ("ヒップ・スラスト", "ヒップ・スラスト", "ヒップ・スラスト", "ヒップ・スラスト", "ヒップスラスト", "ヒップスラスト"),
    ("می\u200cخواهم", "می\u200cخواهم", "می\u200cخواهم", "میخواهم", "می\u200cخواهم", "می\u200cخواهم"),
    ("ශ්\u200dරී", "ශ්\u200dරී", "ශ්\u200dරී", "ශ්රී", "ශ්\u200dරී", "ශ්රී"),
    ("il·lusió", "il·lusió", "il·lusió", "il·lusió", "illusió", "il·lusió"),
    ("מאמן״אישי", "מאמן״אישי", "מאמןאישי", "מאמן״אישי", "מאמןאישי", "מאמןאישי"),
])
def test_each_platform_keeps_what_its_parser_links(tag, x, mastodon, bluesky, linkedin, telegram):
    for platform, expected in (("x", x), ("mastodon", mastodon), ("bluesky", bluesky), ("linkedin", linkedin),
                               ("facebook", linkedin), ("instagram", linkedin), ("telegram", telegram)):
        decision = hashtags.decide(platform, tag)
        assert (decision.text, decision.clickable, decision.refusal) == (expected, True, None), platform
        assert bool(decision.warnings) == (expected != tag), platform
    for platform in ("discord", "slack", "generic"):
        assert decided(platform, tag) == (tag, False, True)         # plain text there, kept as written


def test_nothing_usable_left_is_refused_with_the_tag_and_the_reason():
    refusal = hashtags.decide("x", "💪").refusal
    assert refusal == ("tag '💪' cannot be a hashtag on X: none of its characters can be part of one; "
                       "remove it or add letters")
    assert "it needs at least one letter" in hashtags.decide("mastodon", "2024").refusal
    assert "65 UTF-16 units and Bluesky allows 64" in hashtags.decide("bluesky", "a" * 65).refusal
    assert hashtags.decide("bluesky", "a" * 64).refusal is None
    assert hashtags.decide("bluesky", "💪").text == "💪"            # an emoji alone is a Bluesky tag
    assert "51 characters and Threads allows 50" in hashtags.decide("threads", "b" * 51).refusal


def test_threads_takes_one_topic_tag_and_names_the_rest():
    first, second, third = hashtags.decide_all("threads", ["2024", "Récupération", "योग"])
    assert (second.text, second.clickable) == ("Récupération", True)
    assert first.text is None and third.text is None and first.refusal is None
    assert "Threads takes one topic tag per post: #Récupération; left out: योग" in second.warnings
    # Decisions are kept between renders; what decide_all changes stays in the copies it returned.
    again = hashtags.decide_all("threads", ["2024", "Récupération", "योग"])
    assert [d.to_dict() for d in again] == [d.to_dict() for d in (first, second, third)]
    assert [d.warnings for d in again] == [d.warnings for d in (first, second, third)]
    assert hashtags.decide("threads", "2024").refusal is not None and hashtags.decide("threads", "योग").text == "योग"
    assert hashtags.decide("threads", "Récupération").warnings == []


def test_post_file_cleans_invisible_characters_and_keeps_joiners_that_spell(tmp_path):
    path = tmp_path / "p.md"
    path.write_text("---\ntags: [\"gains\u2060\", \"\u200bfit\", \"cardio\ufe0f\", \"ورزش\u200cکار\", "
                    f"\"{FAMILY}fam\", \"\u202eevil\"]\n---\nBody.\n", encoding="utf-8")
    post = load_post(path)
    assert post.tags == ["gains", "fit", "cardio", "ورزش\u200cکار", f"{FAMILY}fam", "evil"]
    removed = [w for w in post.warnings if "invisible characters" in w]
    assert len(removed) == 4 and "U+2060 WORD JOINER" in removed[0] and "p.md:2" in removed[0]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in removed[3]


@pytest.mark.parametrize("tags,message", [
    ("[glute training]", "tag 'glute training' has a space, which ends a hashtag on nearly every platform; "
                         "write it as GluteTraining"),
    ("[hip-thrust]", "tag 'hip-thrust' has '-'"),
    ("[\"\u2060\u200b\"]", "is only invisible characters"),
])
def test_tags_wrong_everywhere_are_refused_at_their_line(tmp_path, tags, message):
    path = tmp_path / "p.md"
    path.write_text(f"---\ntitle: T\ntags: {tags}\n---\nBody.\n", encoding="utf-8")
    with pytest.raises(PostError, match="p.md:3") as raised:
        load_post(path)
    assert message in str(raised.value)


def test_render_drops_what_a_platform_cannot_link_and_refuses_an_empty_tag(tmp_path):
    from tests.test_render import channel, post
    render = Renderer().render(post(tags=["💪gains", "Récupération"]), channel("x"))
    assert "#gains #Récupération" in render.text and "💪" not in render.text
    assert [(h["text"], h["clickable"]) for h in render.hashtags] == [("gains", True), ("Récupération", True)]
    assert any("'💪' cannot be part of a hashtag on X (emoji), so X gets #gains" in w for w in render.warnings)
    bluesky = Renderer().render(post(tags=["💪gains"]), channel("bluesky"))
    assert "#💪gains" in bluesky.text
    with pytest.raises(RenderError, match=r"channel x \(x\): tag '💪' cannot be a hashtag on X"):
        Renderer().render(post(tags=["💪"]), channel("x"))


# ---- the corpus: every post previews and queues everywhere, counted as the references count ------------
@pytest.fixture(scope="module")
def corpus_renders():
    renderer = Renderer()
    from tests.test_render import channel
    return {path.name: {platform: renderer.render(load_post(path), channel(platform)) for platform in PLATFORMS}
            for path in CORPUS}


def test_corpus_covers_eight_scripts_rtl_and_no_spaces():
    scripts = {"Latin": r"\p{Latin}", "Devanagari": r"\p{Devanagari}", "Thai": r"\p{Thai}", "Han": r"\p{Han}",
               "Arabic": r"\p{Arabic}", "Hebrew": r"\p{Hebrew}", "Cyrillic": r"\p{Cyrillic}", "Hangul": r"\p{Hangul}"}
    bodies = [load_post(path).body for path in CORPUS]
    for name, pattern in scripts.items():
        assert any(hashtags._compile(pattern).search(body) for body in bodies), name
    assert len(CORPUS) >= 8


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_post_previews_and_queues_on_all_ten_platforms(path, tmp_path):
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "POSTBOT_TIMEZONE": "UTC",
           "OUTBOX_DIR": str(tmp_path / "outbox")}
    preview = postbot(["preview", str(path), "--json"], env, tmp_path)
    assert preview.returncode == 0, preview.stderr
    renders = json.loads(preview.stdout)["renders"]
    assert [r["platform"] for r in renders] == list(PLATFORMS)
    assert all(r["fits"] for r in renders)
    for render in renders:
        clickable = [h["text"] for h in render["hashtags"] if h["clickable"]]
        shown = unescape_little_text(render["text"]) if render["platform"] == "linkedin" else render["text"]
        assert all(f"#{tag}" in shown for tag in clickable), render["channel"]
    queued = postbot(["queue", str(path), "--at", "now", "--json"], env, tmp_path)
    assert queued.returncode == 0, queued.stderr
    assert sorted(d["platform"] for d in json.loads(queued.stdout)) == sorted(PLATFORMS)


def test_corpus_x_counts_and_hashtags_match_twitter_text(corpus_renders):
    renders = [by_platform["x"] for by_platform in corpus_renders.values()]
    reference = run_reference({"twitter": [r.text for r in renders]})["twitter"]
    for render, expected in zip(renders, reference):
        assert render.length == expected["parsed"]["weightedLength"] and expected["parsed"]["valid"]
        linked = [h["text"] for h in render.hashtags if h["clickable"]]
        assert [tag["hashtag"] for tag in expected["hashtags"]] == linked      # every tag, and only them
        assert [tag for _, _, tag in hashtags.x_hashtags(render.text)] == linked


def test_corpus_bluesky_facets_match_atproto(corpus_renders):
    renders = [by_platform["bluesky"] for by_platform in corpus_renders.values()]
    reference = run_reference({"bluesky": [r.payload["text"] for r in renders]})["bluesky"]
    for render, expected in zip(renders, reference):
        assert render.length == expected["graphemeLength"] and expected["length"] <= 3000
        ours = [f for f in render.payload["facets"] if f["features"][0]["$type"] == textlib.TAG]
        theirs = [f for f in expected["facets"] if f["features"][0]["$type"] == textlib.TAG]
        assert ours == theirs
        assert [f["features"][0]["tag"] for f in ours] == [h["text"] for h in render.hashtags]


def test_corpus_mastodon_reads_every_tag_it_was_given(corpus_renders):
    for by_platform in corpus_renders.values():
        render = by_platform["mastodon"]
        linked = [h["text"] for h in render.hashtags if h["clickable"]]
        assert [tag for _, _, tag in hashtags.mastodon_hashtags(render.text)] == linked
