"""Teasers a social media manager would post: the hook, the reader question, the article link, CTAs chosen per channel."""
from __future__ import annotations

import json

import pytest

from postbot import text as textlib
from postbot.config import load_settings
from postbot.errors import ConfigError, PostError, RenderError
from postbot.models import CTA, Channel, Post
from postbot.platforms import PLATFORMS
from postbot.posts import load_post
from postbot.render import Renderer
from postbot.render.hooks import pieces
from tests.hook_corpus import CORPUS
from tests.helpers import seed_path, seed_post
from tests.process import postbot

RENDERER = Renderer()
HOOK = "Well the answer is a big resounding NO!"
QUESTION = "So do you use the Hip Thrust in your workouts?"
ARTICLE = "https://lewisrobinsonfitness.com/blog/hip-thrust"
CTA_URLS = ("https://lewisrobinsonfitness.com/personaltraining", "https://lewisrobinsonfitness.mypthub.net/p/212107",
            "https://lewisrobinsonfitness.mypthub.net/p/211016")


def channel(platform: str, **settings: str) -> Channel:
    return Channel(name=platform, kind="outbox", platform=platform, settings=settings)


def seed_with(tmp_path, front: str) -> Post:
    """The seed article as a user would publish it: front matter above the plain-text export."""
    path = tmp_path / "hip-thrust-post.txt"
    path.write_text(f"---\n{front}---\n" + seed_path().read_text(encoding="utf-8"), encoding="utf-8")
    return load_post(path, repair=True)


def teaser_of(render) -> str:
    return render.text.split("\n\n" + "https://", 1)[0]


@pytest.mark.parametrize("platform", ["x", "bluesky", "threads", "linkedin", "mastodon", "instagram"])
def test_the_seed_leads_with_its_hook_not_its_throat_clearing(platform):
    render = RENDERER.render(seed_post(repair=True), channel(platform))
    assert render.fits and render.length <= render.limit
    assert HOOK in render.text or QUESTION in render.text
    assert not render.text.startswith("I've been considering")
    assert "I've been considering" not in render.text


def test_short_networks_get_the_hook_and_the_reader_question_when_both_fit():
    for platform in ("x", "mastodon", "threads"):
        text = RENDERER.render(seed_post(repair=True), channel(platform)).text
        assert text.startswith("Do I think the Hip Thrust is a good exercise") and HOOK in text, platform
        assert QUESTION in text, platform


def test_the_seed_gets_a_real_title_not_a_fragment():
    title = seed_post().title
    assert title == "How would you rate the Hip Thrust?"
    assert "hip thrust" in title.lower() and title.endswith(("?", ".", "!")) or title[-1].isalnum()
    assert not title.startswith("I've been considering")


def test_long_networks_get_a_shaped_post_with_the_hook_above_the_fold():
    post = seed_post(repair=True)
    render = RENDERER.render(post, channel("linkedin"))
    paragraphs = teaser_of(render).split("\n\n")
    assert paragraphs[0].startswith("Do I think") and paragraphs[0].endswith("NO!")
    assert render.fold is not None and len(paragraphs[0]) < render.fold      # whole hook before "see more"
    assert 3 <= len(paragraphs) <= 5 and QUESTION in paragraphs
    assert "would be more effective and safer than the Hip Thrust" in render.text     # the article's verdict
    assert len(render.text) < 1300 and "Its popularity has significantly increased" not in render.text
    for platform in ("facebook", "instagram", "telegram", "discord", "slack"):
        shaped = RENDERER.render(post, channel(platform))
        assert HOOK in shaped.text and "Its popularity has significantly increased" not in shaped.text, platform


def test_lead_strategy_keeps_the_first_lines_per_post_and_per_channel(tmp_path):
    lead = seed_with(tmp_path, "teaser_strategy: lead\n")
    assert RENDERER.render(lead, channel("x")).text.startswith("I've been considering")
    seed = seed_post(repair=True)
    assert RENDERER.render(seed, channel("x", TEASER="lead")).text.startswith("I've been considering")
    assert RENDERER.render(seed, channel("bluesky")).text.startswith("Do I think")
    # The post's choice beats the channel's; a channel override in front matter beats both.
    hooked = seed_with(tmp_path, "teaser_strategy: hook\noverrides: {bluesky: {teaser_strategy: lead}}\n")
    assert RENDERER.render(hooked, channel("x", TEASER="lead")).text.startswith("Do I think")
    assert RENDERER.render(hooked, channel("bluesky")).text.startswith("I've been considering")


def test_a_written_teaser_still_wins(tmp_path):
    post = seed_with(tmp_path, 'teaser: "Why I never program the hip thrust."\n')
    for platform in ("x", "linkedin"):
        assert RENDERER.render(post, channel(platform)).text.startswith("Why I never program the hip thrust.")


def test_the_article_is_linked_on_x_and_bluesky_when_the_post_has_a_url(tmp_path):
    post = seed_with(tmp_path, f"url: {ARTICLE}\n")
    for platform in ("x", "bluesky", "mastodon", "threads", "linkedin", "telegram", "slack"):
        render = RENDERER.render(post, channel(platform))
        assert render.links[0].startswith(ARTICLE + "?utm_source=" + platform), platform   # the article first
        assert any(link.startswith(CTA_URLS[0]) for link in render.links), platform        # then the first CTA
        assert HOOK in render.text, platform


def test_every_cta_where_there_is_room_and_as_many_as_leave_the_hook_whole_on_mastodon_and_threads(tmp_path):
    post = seed_with(tmp_path, f"url: {ARTICLE}\n")
    for platform in ("linkedin", "facebook", "telegram", "discord", "slack", "mastodon"):
        links = RENDERER.render(post, channel(platform)).links
        assert all(any(link.startswith(url) for link in links) for url in CTA_URLS), platform
    threads = RENDERER.render(post, channel("threads"))     # 500 characters, every URL counted in full
    bare = [link.split("?")[0] for link in threads.links]
    assert HOOK in threads.text and bare == [ARTICLE, *CTA_URLS[:len(bare) - 1]] and len(bare) >= 2
    with pytest.raises(RenderError, match="516/500, 16 over the limit; shorten the CTAs"):   # asked for: all or nothing
        RENDERER.render(post, channel("threads", CTAS="all"))
    x = RENDERER.render(post, channel("x")).links
    assert len(x) == 2 and not any(link.startswith(CTA_URLS[1]) for link in x)


def test_instagram_points_to_the_bio_for_the_article_and_every_cta(tmp_path):
    post = seed_with(tmp_path, f"url: {ARTICLE}\nimage: https://example.com/a.jpg\nimage_alt: a squat\n")
    render = RENDERER.render(post, channel("instagram"))
    assert "Full article: link in bio" in render.text
    for label in ("Personal Training", "Online Coaching", "New Dads Over 40"):
        assert f"{label}: link in bio" in render.text
    assert render.links == [] and "https://" not in render.text


@pytest.mark.parametrize("choice,expected", [("all", (0, 1, 2)), ("first", (0,)), ("none", ()), ("1,3", (0, 2)),
                                             ("3", (2,))])
def test_the_channel_chooses_its_ctas(tmp_path, choice, expected):
    post = seed_with(tmp_path, f"url: {ARTICLE}\n")
    for platform in ("x", "linkedin"):
        render = RENDERER.render(post, channel(platform, CTAS=choice))
        carried = tuple(i for i, url in enumerate(CTA_URLS) if any(link.startswith(url) for link in render.links))
        assert carried == expected, (platform, choice)
        assert render.links[0].startswith(ARTICLE) and render.fits


def test_front_matter_chooses_ctas_for_the_post_and_per_channel(tmp_path):
    post = seed_with(tmp_path, "show_ctas: none\noverrides: {linkedin: {show_ctas: 2}}\n")
    assert RENDERER.render(post, channel("x", CTAS="all")).links == []          # the post beats the channel
    linkedin = RENDERER.render(post, channel("linkedin"))
    assert len(linkedin.links) == 1 and linkedin.links[0].startswith(CTA_URLS[1])


@pytest.mark.parametrize("front,line,needle", [
    ("show_ctas: some\n", 2, "'show_ctas' 'some' is not a CTA choice; use all, first, none, or CTA numbers"),
    ("show_ctas: 0\n", 2, "CTA numbers start at 1"),
    ("teaser_strategy: clickbait\n", 2, "'teaser_strategy' 'clickbait' is not lead or hook"),
    ("overrides:\n  x: {show_ctas: [a]}\n", 3, "'show_ctas'"),
])
def test_bad_front_matter_choices_name_the_file_and_line(tmp_path, front, line, needle):
    with pytest.raises(PostError) as caught:
        seed_with(tmp_path, front)
    assert needle in str(caught.value) and f"hip-thrust-post.txt:{line}" in str(caught.value)


@pytest.mark.parametrize("name,value,needle", [
    ("X_CTAS", "most", "X_CTAS: 'most' is not a CTA choice"),
    ("X_TEASER", "clever", "X_TEASER='clever' is not lead or hook"),
])
def test_bad_channel_choices_stop_at_the_settings(name, value, needle):
    with pytest.raises(ConfigError, match=needle):
        load_settings({"POSTBOT_CHANNELS": "x=outbox", "X_RENDER_AS": "x", name: value})


def test_cli_preview_follows_the_channel_settings_and_refuses_bad_ones(tmp_path):
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_CHANNELS": "x,bluesky",
           "X_CTAS": "all", "BLUESKY_TEASER": "lead", "OUTBOX_DIR": str(tmp_path / "outbox")}
    env |= {"POSTBOT_CHANNELS": "x=outbox,bluesky=outbox"}
    result = postbot(["preview", str(seed_path()), "--json", "--repair"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    x, bluesky = json.loads(result.stdout)["renders"]
    assert HOOK in x["text"] and len(x["links"]) == 3
    assert bluesky["text"].startswith("I've been considering")
    bad = postbot(["preview", str(seed_path())], env | {"X_CTAS": "two"}, tmp_path)
    assert bad.returncode == 2 and "X_CTAS" in bad.stderr and "Traceback" not in bad.stderr


def test_hook_strategy_renders_fit_exactly_and_never_cut_inside_a_word():
    # Hooks longer than the room are cut like any teaser: at a word, with an ellipsis, measured exactly.
    body = ("Most people think stretching before a run prevents injuries " + "and many other problems " * 12 + ". "
            "But the research says otherwise. Do you stretch before you run?")
    post = Post(source="t.md", slug="s", title="Stretching", body=body, ctas=[CTA("Coaching", "https://e.com/c")])
    for platform in PLATFORMS:
        render = RENDERER.render(post, channel(platform))
        assert render.fits and render.length <= render.limit, platform
        teaser = render.text.split("\n\n")[0]
        if teaser.endswith("…"):
            stem = teaser[:-1].rstrip()
            assert body.startswith(stem) or stem in body, platform
            assert body[body.index(stem) + len(stem)] == " ", platform        # the cut is at a space
        assert textlib.grapheme_len(render.text) >= 1


def test_the_hook_strategy_picks_what_an_editor_would_on_most_of_a_mixed_corpus(capsys):
    assert len(CORPUS) >= 12 and len({a.lang for a in CORPUS}) >= 5
    misses = []
    for article in CORPUS:
        hook = pieces(article.body, article.title).hook or ""
        if not any(hook.startswith(accepted) for accepted in (article.hook, *article.also)):
            misses.append(f"{article.name} ({article.kind}, {article.lang}): picked {hook!r}, editor: {article.hook!r}")
    with capsys.disabled():
        print(f"\nhook corpus: {len(CORPUS) - len(misses)}/{len(CORPUS)} picked as an editor would")
        for miss in misses:
            print("  miss:", miss)
    assert len(CORPUS) - len(misses) >= 10, misses


def test_hooks_are_deterministic_and_verbatim():
    body = seed_post(repair=True).body
    first, again = pieces(body), pieces(body + "")
    assert first == again
    for piece in (first.hook, first.thesis, first.support, first.question):
        assert piece and all(sentence in body for sentence in piece.split(" Well "))
