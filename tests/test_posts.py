"""Loading post files: the real seed article, the example posts, and every way a file can be wrong."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from PIL import Image

from postbot.errors import PostError
from postbot.models import CTA, Post
from postbot.posts import load_post, slugify

REPO = Path(__file__).resolve().parents[1]
POSTS = REPO / "posts"
SEED = REPO.parent / "shared" / "seeds" / "hip-thrust-post.txt"
CTA_SHAPE = "{label: ..., url: https://...}"


@pytest.fixture
def seed() -> Path:
    if not SEED.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the seed article is missing at <repo>/../shared/seeds/{SEED.name}")
        pytest.skip(f"the seed article is not at <repo>/../shared/seeds/{SEED.name}")
    return SEED


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_for(path: Path) -> PostError:
    with pytest.raises(PostError) as caught:
        load_post(path)
    return caught.value


# ---------------------------------------------------------------------------------------------
# The real input

def test_seed_article_parses(seed):
    post = load_post(seed)
    assert post.date == "2025-07-16"
    assert post.ctas == [
        CTA("Personal Training", "https://lewisrobinsonfitness.com/personaltraining"),
        CTA("Online Coaching", "https://lewisrobinsonfitness.mypthub.net/p/212107"),
        CTA("New Dads Over 40", "https://lewisrobinsonfitness.mypthub.net/p/211016"),
    ]
    # A complete sentence about the topic, not the throat-clearing opener cut mid-sentence.
    assert post.title == "How would you rate the Hip Thrust?"
    assert post.slug == "hip-thrust-post"
    assert post.url is None
    paragraphs = post.body.split("\n\n")
    assert len(paragraphs) == 16
    assert paragraphs[0].startswith("I've been considering") and paragraphs[-1].endswith("some opinions....")
    assert "16/07/2025" not in post.body and "mypthub" not in post.body and "personaltraining" not in post.body


def test_seed_mis_decoded_characters_are_flagged_at_file_line_and_column(seed):
    warnings = load_post(seed).warnings
    where = str(seed)
    assert f"{where}:13:141: mis-decoded text 'muscleβso' (probably '—'); run with --repair to fix" in warnings
    assert f"{where}:16:205: mis-decoded text 'Supplyβwhether' (probably '—'); run with --repair to fix" in warnings
    assert any(w.startswith(f"{where}:16:316: mis-decoded text 'Wars) π'") for w in warnings)
    assert any(w.startswith(f"{where}:18:18: mis-decoded text 'Trainingπ'") for w in warnings)
    # The labels were cleaned, and the warning keeps what the file really says.
    assert (f"{where}:20: CTA label 'New Dads Over 40π' ends with stray characters; using 'New Dads Over 40' "
            f"(fix the file, or run with --repair)") in warnings
    # Columns point at the junk character itself in the file's own line.
    lines = seed.read_text(encoding="utf-8").split("\n")
    assert lines[13 - 1][141 - 1] == "β" and lines[16 - 1][205 - 1] == "β" and lines[18 - 1][18 - 1] == "π"


def test_seed_repair_removes_the_junk(seed):
    post = load_post(seed, repair=True)
    for text in [post.body, post.title, *(c.label for c in post.ctas)]:
        assert "β" not in text and "π" not in text
    assert "secondary or synergist muscle—so you'll" in post.body
    assert "with all the Wars)\n\n" in post.body
    assert [c.label for c in post.ctas] == ["Personal Training", "Online Coaching", "New Dads Over 40"]
    where = str(seed)
    assert f"{where}:13:141: repaired 'muscleβso' -> 'muscle—so'" in post.warnings
    assert f"{where}:19:16: repaired 'Coachingπ' -> 'Coaching'" in post.warnings
    assert not any("mis-decoded" in w or "stray characters" in w for w in post.warnings)


# ---------------------------------------------------------------------------------------------
# The example posts

def test_every_example_post_loads_cleanly():
    examples = sorted(p for p in POSTS.iterdir() if p.is_file())
    assert {p.name for p in examples} >= {"hip-thrust-alternatives.md", "minimal.md", "morning-mobility.txt",
                                          "multilingual.md"}
    for path in examples:
        post = load_post(path)
        assert post.body and post.title and post.slug, path
        assert post.warnings == [], path


def test_main_example_has_every_setting():
    post = load_post(POSTS / "hip-thrust-alternatives.md")
    assert post.title == "Five Hip Thrust Alternatives That Build More Than Your Glutes"
    assert post.slug == "five-hip-thrust-alternatives-that-build-more-than-your"
    assert post.url == "https://example.com/blog/hip-thrust-alternatives"
    assert post.date == "2025-08-04" and post.lang == "en"
    assert post.tags == ["GluteTraining", "StrengthTraining", "PersonalTraining", "Over40Fitness"]
    assert [c.label for c in post.ctas] == ["Personal Training", "Online Coaching", "Free Lower-Body Guide"]
    assert all(c.url.startswith("https://") for c in post.ctas)
    image = Path(post.image)
    assert image.is_absolute() and image.is_file() and image.read_bytes()[:3] == b"\xff\xd8\xff"
    assert image.stat().st_size < 150_000 and post.image_alt
    assert post.overrides["x"]["teaser"].startswith("Every gym has a queue")
    assert 700 <= len(post.body.split()) <= 950
    # Markdown syntax is gone; links to a CTA show their text only, other links keep the address.
    assert "##" not in post.body and "**Day one:**" not in post.body and "*how*" not in post.body
    assert "\n\nWhy I rarely program the hip thrust\n\n" in post.body
    assert "in person through Personal Training, or" in post.body
    assert "read the study summary https://example.org/research/squat-vs-hip-thrust I mentioned" in post.body
    assert "• Day one: Romanian deadlift, step-up, cable kickback\n• Day two:" in post.body
    assert "What about the B**ty machines?" in post.body


def test_minimal_post_is_only_a_body():
    post = load_post(POSTS / "minimal.md")
    assert post.slug == "minimal"
    assert post.title == ("Five minutes of walking after dinner does more for your blood sugar than an hour of "
                          "worrying about the perfect workout")
    assert len(post.body.split("\n\n")) == 2
    assert (post.url, post.date, post.ctas, post.tags, post.image) == (None, None, [], [], None)


def test_plain_text_example_reads_both_cta_forms():
    post = load_post(POSTS / "morning-mobility.txt")
    assert post.date == "2025-09-03"
    assert post.ctas == [CTA("Book a Mobility Assessment", "https://example.com/mobility-assessment"),
                         CTA("Morning Mobility Video Series", "https://example.org/videos/morning-mobility")]
    assert len(post.body.split("\n\n")) == 7 and "https://" not in post.body


def test_japanese_example():
    post = load_post(POSTS / "multilingual.md")
    assert post.lang == "ja" and post.title == "朝の五分で変わる姿勢"
    assert post.slug == "multilingual"              # nothing ASCII in the title: the file name is used
    assert post.tags == ["姿勢", "ストレッチ"]
    assert post.ctas == [CTA("無料カウンセリングを予約する", "https://example.com/ja/free-consultation")]
    assert len(post.body.split("\n\n")) == 3 and " " not in post.body


def test_round_trip_through_a_dict():
    for name in ("hip-thrust-alternatives.md", "morning-mobility.txt"):
        post = load_post(POSTS / name)
        data = post.to_dict()
        assert data["ctas"][0] == {"label": post.ctas[0].label, "url": post.ctas[0].url}
        assert Post.from_dict(data) == post


# ---------------------------------------------------------------------------------------------
# Errors: each names the file, the line and the fix

ERRORS = {
    "bad YAML": ("a.md", "---\ntitle: Squats\nteaser: one: two\n---\nBody.\n", 3, "front matter is not valid YAML"),
    "unknown key": ("a.md", "---\ntitle: Squats\ntagz: [a]\n---\nBody.\n", 3,
                    "unknown setting 'tagz'; did you mean 'tags'? allowed: title, url, date,"),
    "cta without url": ("a.md", "---\nctas:\n  - label: One\n    url: https://example.com/1\n  - label: Two\n---\n"
                        "Body.\n", 5, f"'ctas' item 2 has no 'url'; write it as {CTA_SHAPE}"),
    "cta url not http": ("a.md", "---\nctas:\n  - {label: Mail me, url: 'mailto:me@example.com'}\n---\nBody.\n",
                         3, "'ctas' item 1 url 'mailto:me@example.com' is not an http(s) link"),
    "post url not http": ("a.md", "---\nurl: example.com/blog\n---\nBody.\n", 2,
                          "'url' must be an http(s) link, got 'example.com/blog'; write it as url: https://"),
    "missing image": ("a.md", "---\ntitle: T\nimage: images/nope.png\n---\nBody.\n", 3,
                      "'image' 'images/nope.png' not found; the path is read relative to the post file's folder"),
    "image type": ("a.md", "---\nimage: photo.bmp\n---\nBody.\n", 2,
                   "'image' 'photo.bmp' is not a JPG, PNG, GIF or WEBP file"),
    "tags wrong type": ("a.md", "---\ntitle: T\n\ntags:\n  strength: yes\n---\nBody.\n", 4,
                        "'tags' must be a list or a comma-separated string, got a mapping"),
    "tag with space": ("a.md", "---\ntags: [glute training]\n---\nBody.\n", 2,
                       "write it as GluteTraining"),
    "thread not bool": ("a.md", "---\nthread: often\n---\nBody.\n", 2, "'thread' must be true or false"),
    "duplicate key": ("a.md", "---\ntitle: A\ntitle: B\n---\nBody.\n", 3, "'title' is set twice (lines 2 and 3)"),
    "unclosed front matter": ("a.md", "---\ntitle: A\nBody.\n", 1, "front matter opened with --- is never closed"),
    "override setting": ("a.md", "---\noverrides:\n  x:\n    teaser: Hi\n    txt: Hello\n---\nBody.\n", 5,
                         "'overrides' for 'x': unknown setting 'txt'; allowed: text, teaser, thread"),
    "override limit": ("a.md", "---\noverrides:\n  x: {limit: -5}\n---\nBody.\n", 3,
                       "'limit' must be a positive whole number"),
    "bad lang": ("a.md", "---\nlang: en_GB\n---\nBody.\n", 2, "(use a hyphen: en-GB)"),
    "bad visibility": ("a.md", "---\nvisibility: secret\n---\nBody.\n", 2, "one of public, unlisted, private"),
    "bad date": ("a.md", "---\ndate: next tuesday\n---\nBody.\n", 2, "write it as date: 2025-07-16"),
    "empty file": ("a.md", "", 1, "the file is empty"),
    "blank file": ("b.txt", "\n  \n", 1, "the file is empty"),
    "front matter only": ("a.md", "---\ntitle: Just a title\n---\n\n", 4, "the post has no text"),
    "impossible date line": ("a.txt", "31/02/2025\nBody.\n", 1, "is not a real date; write it as DD/MM/YYYY"),
}


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_errors_name_file_line_and_fix(tmp_path, case):
    name, text, line, message = ERRORS[case]
    path = write(tmp_path, name, text)
    error = error_for(path)
    assert (error.path, error.line) == (str(path), line)
    assert str(error).startswith(f"{path}:{line}: ")
    assert message in str(error)


def test_cta_error_message_is_exactly_the_documented_one(tmp_path):
    path = write(tmp_path, "a.md", ERRORS["cta without url"][1])
    assert str(error_for(path)) == f"{path}:5: 'ctas' item 2 has no 'url'; write it as {CTA_SHAPE}"


def test_file_problems(tmp_path):
    assert "no such post file" in str(error_for(tmp_path / "gone.md"))
    assert "unsupported post file type '.docx'" in str(error_for(write(tmp_path, "a.docx", "Body.")))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("First line.\nCaf\u00e9 time.\n".encode("latin-1"))
    error = error_for(latin1)
    assert error.line == 2 and "not UTF-8; save the file as UTF-8" in str(error)


# ---------------------------------------------------------------------------------------------
# Warnings and details

def test_warnings_for_missing_alt_and_repeated_links(tmp_path):
    (tmp_path / "pics").mkdir()
    Image.new("RGB", (2, 2)).save(tmp_path / "pics" / "a.webp", "WEBP")
    path = write(tmp_path, "p.md", "---\nimage: pics/a.webp\nctas:\n  - {label: One, url: https://example.com/a}\n"
                                   "  - {label: Two, url: https://example.com/a}\n---\nBody.\n")
    post = load_post(path)
    assert post.image == str((tmp_path / "pics" / "a.webp").resolve())
    assert f"{path}:2: the image has no image_alt; add image_alt for accessibility" in post.warnings
    assert any(w.startswith(f"{path}:5: CTA 2 ('Two') repeats the link of CTA 1") for w in post.warnings)


def test_remote_image_is_kept_as_written(tmp_path):
    path = write(tmp_path, "p.md", "---\nimage: https://cdn.example.com/a.jpg\nimage_alt: A squat\n---\nBody.\n")
    post = load_post(path)
    assert post.image == "https://cdn.example.com/a.jpg" and post.warnings == []


def test_settings_are_normalised(tmp_path):
    path = write(tmp_path, "p.md", "---\ntags: '#Squats, glutes ,#squats'\nchannels: X, bluesky\n"
                                   "publish_at: 2026-12-01 09:00:00\nthread: yes\ndate: 16/07/2025\n"
                                   "overrides: {Mastodon: {thread: false}}\n---\nBody.\n")
    post = load_post(path)
    assert post.tags == ["Squats", "glutes"]
    assert any("tag 'squats' is listed twice" in w for w in post.warnings)
    assert post.channels == ["x", "bluesky"]
    assert post.publish_at == "2026-12-01T09:00:00"
    assert post.thread is True and post.date == "2025-07-16"
    assert post.overrides == {"mastodon": {"thread": False}}


def test_teaser_alone_is_enough(tmp_path):
    post = load_post(write(tmp_path, "t.md", "---\nteaser: Squats beat everything. Here is why.\n---\n"))
    assert post.body == "" and post.title == "Squats beat everything"


def test_markdown_to_plain_text(tmp_path):
    path = write(tmp_path, "m.md", "# The *Squat* Guide\n\nSome **bold** and `code`,\nwrapped [here](https://a.example/x)"
                                   " and <https://b.example/y>.\n\n1. first\n2. second\n   - inner\n\n"
                                   "```\nsquat()\n```\n\n[Local](../other.md) link.\n")
    post = load_post(path)
    assert post.title == "The Squat Guide" and post.slug == "the-squat-guide"
    assert post.body.split("\n\n") == [
        "Some bold and code, wrapped here https://a.example/x and https://b.example/y.",
        "1. first\n2. second\n  • inner",
        "squat()",
        "Local link.",
    ]
    assert any(w.startswith(f"{path}:14: link 'Local' points to '../other.md'") for w in post.warnings)


def test_hygiene_lines_count_the_whole_file(tmp_path):
    path = write(tmp_path, "h.md", "---\ntitle: Deadlifts\n---\n\nFirst paragraph.\n\nHips backβthen drive.\n")
    post = load_post(path)
    assert f"{path}:7:10: mis-decoded text 'backβthen' (probably '—'); run with --repair to fix" in post.warnings
    repaired = load_post(path, repair=True)
    assert "Hips back—then drive." in repaired.body
    assert f"{path}:7:10: repaired 'backβthen' -> 'back—then'" in repaired.warnings


def test_plain_text_with_blank_line_paragraphs_joins_wrapped_lines(tmp_path):
    path = write(tmp_path, "w.txt", "2025-09-01\n\nFirst paragraph wraps\nonto a second line.\n\nSecond one.\n\n"
                                    "Read more:\nhttps://example.com/more\n")
    post = load_post(path)
    assert post.date == "2025-09-01"
    assert post.body == "First paragraph wraps onto a second line.\n\nSecond one."
    assert post.ctas == [CTA("Read more", "https://example.com/more")]
    assert post.title == "First paragraph wraps onto a second line"


def test_a_closing_sentence_with_a_link_stays_in_the_body(tmp_path):
    path = write(tmp_path, "s.txt", "Body.\nThe full study is at https://example.org/study and worth reading.\n"
                                    "Thanks for reading, see the study here. https://example.org/study\n")
    post = load_post(path)
    assert post.ctas == [] and post.body.endswith("see the study here. https://example.org/study")


def test_slugify():
    assert slugify("Five Hip-Thrust Alternatives!") == "five-hip-thrust-alternatives"
    assert slugify("I’ve tried Straße & Crème Brûlée") == "ive-tried-strasse-and-creme-brulee"
    assert slugify("朝の五分") == ""
    long = slugify("word " * 30)
    assert len(long) <= 60 and long.endswith("word") and not long.endswith("-")


def test_importing_posts_stays_light():
    code = ("import sys, postbot.posts\n"
            "heavy = {'yaml', 'markdown_it', 'ftfy', 'budoux', 'regex', 'httpx'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
