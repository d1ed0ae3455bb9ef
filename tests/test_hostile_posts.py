"""Hostile post files end in a message and exit 2, never a traceback or a hang (issue 17.3, 17.5).

The named cases run through the real CLI; the fuzz run loads and renders a bounded, seeded corpus
for every default channel in a child process, so a hang is a timeout there (the same files take
milliseconds each), not a wall-clock assertion on speed."""
from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from tests.process import REPO, child_env, postbot


@pytest.fixture
def env(tmp_path):
    return {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "Europe/London",
            "OUTBOX_DIR": str(tmp_path / "outbox")}


NAMED = {
    "YAML nested 700 levels": ("---\ntitle: " + "[" * 700 + "]" * 700 + "\n---\nBody.\n", "nested too deeply"),
    "mapping nested 600 levels": ("---\noverrides:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(600))
                                  + "---\nBody.\n", "nested too deeply"),
    "invalid IPv6 URL": ('---\nurl: "http://[abc"\n---\nBody.\n', "must be an http(s) link"),
    "invalid IPv6 CTA": ('---\nctas:\n  - {label: A, url: "http://[abc"}\n---\nBody.\n', "is not an http(s) link"),
    "NUL in image": ('---\nimage: "a\\0.jpg"\n---\nBody.\n', "NUL"),
    "February 30": ("---\ndate: 2025-02-30\n---\nBody.\n", "2025-02-30"),
    "offset +99:00": ("---\npublish_at: 2026-12-01T09:00:00+99:00\n---\nBody.\n", "offset"),
    "publish_at in 9999": ('---\npublish_at: "9999-12-31T23:59"\n---\nBody.\n', "years ahead"),
    "lone surrogate in the title": ('---\ntitle: "Glutes \\ud83d"\n---\nBody.\n',
                                    "post.md:2: the text holds half of a UTF-16 pair (\\ud83d)"),
    "lone surrogate in a CTA": ('---\nctas:\n  - {label: "Book \\udc4d", url: https://example.com/a}\n---\nBody.\n',
                                "post.md:3: the text holds half of a UTF-16 pair (\\udc4d)"),
    "a list that holds itself": ('---\ntags: &a ["\\ud83d\\udcaa", *a]\n---\nBody.\n', "item 2 is a list"),
}


@pytest.mark.parametrize("name", list(NAMED))
def test_named_hostile_files_are_refused_with_a_message(env, tmp_path, name):
    text, needle = NAMED[name]
    path = tmp_path / "post.md"
    path.write_text(text, encoding="utf-8")
    result = postbot(["queue", str(path), "--at", "+1d"] if "publish_at" not in text else ["queue", str(path)],
                     env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and str(path) in result.stderr and needle in result.stderr


def test_a_json_style_surrogate_pair_is_the_character_it_stands_for(env, tmp_path):
    path = tmp_path / "post.md"
    path.write_text('---\ntitle: "Glutes \\ud83d\\udcaa"\nteaser: "Strong \\ud83d\\udcaa"\n---\nBody.\n', encoding="utf-8")
    result = postbot(["preview", str(path), "--channel", "x", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["post"]["title"] == "Glutes \U0001F4AA"
    assert shown["renders"][0]["text"].startswith("Strong \U0001F4AA")


def test_a_reader_that_leaves_early_gets_no_traceback(env, tmp_path):
    """`postbot preview post.md | head -0`: the reader is gone before postbot writes a byte."""
    path = tmp_path / "post.md"
    path.write_text("A body to preview.\n", encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-m", "postbot", "preview", str(path)], env=child_env(env),
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()    # only the child holds the pipe's write end now, with no reader: its write fails
    stderr = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141 and "Traceback" not in stderr, stderr


@pytest.mark.parametrize("at", ["+99999999999d", "+999999999h", "9999-12-31T23:59"])
def test_times_too_far_ahead_are_refused_by_queue_and_reschedule(env, tmp_path, at):
    path = tmp_path / "post.md"
    path.write_text("A body to queue.\n", encoding="utf-8")
    result = postbot(["queue", str(path), "--at", at, "--channel", "x"], env, tmp_path)
    assert result.returncode == 2 and "years ahead" in result.stderr and "Traceback" not in result.stderr
    assert postbot(["queue", str(path), "--at", "+1d", "--channel", "x"], env, tmp_path).returncode == 0
    moved = postbot(["reschedule", "1", "--at", at], env, tmp_path)
    assert moved.returncode == 2 and "years ahead" in moved.stderr and "Traceback" not in moved.stderr


# ---- the fuzz run -------------------------------------------------------------------------------------------------
_WORDS = ["squat", "glute", "ヨガ", "筋トレ", "ออกกำลังกาย", "योग", "مرحبا", "💪", "e\u0301", "\u200d", "#tag",
          "@user@host.example", "https://example.com/a?b=c", "a.b", "x.com", "\ufeff", "β", "—", "...", ":", "-"]
_VALUES = ['"http://[abc"', '"a\\0.jpg"', "2025-02-30", "2026-12-01T09:00:00+99:00", '"9999-12-31T23:59"',
           "[" * 50 + "]" * 50, "{a: {b: {c: {d: 1}}}}", "-1", "0", "1e400", "100000000000000000000", "~", "!!binary AA==",
           "&a [*a]", "'\u202e'", '"images/../../etc/passwd.jpg"', "yes", "[]", "{}", '"' + "a" * 300 + '"']
_KEYS = ["title", "url", "date", "teaser", "ctas", "tags", "image", "image_alt", "lang", "channels", "publish_at",
         "thread", "content_warning", "visibility", "overrides"]


def _long_run(rng: random.Random) -> str:
    unit = rng.choice(["a", "a.", "a_a.", "a-a.", "漢", "AAAA+/==", "a.com_", "#", "@a", "1", "token=a1"])
    return (unit * (20_000 // len(unit)))[:20_000]


def hostile_corpus(count: int, seed: int) -> list[str]:
    """`count` post files mixing broken front matter, impossible values and pathological text."""
    rng = random.Random(seed)
    files = []
    for index in range(count):
        lines = []
        if rng.random() < 0.8:
            lines.append("---")
            for key in rng.sample(_KEYS, rng.randint(0, 5)):
                value = rng.choice(_VALUES + [json.dumps(" ".join(rng.choices(_WORDS, k=5)), ensure_ascii=False)])
                if key == "overrides":
                    value = rng.choice(['{x: {limit: 100000}}', '{x: {template: "__init__.py"}}', '{x: {limit: 1}}',
                                        '{x: {text: ""}}', value])
                lines.append(f"{key}: {value}")
            if rng.random() < 0.9:
                lines.append("---")
        body = " ".join(rng.choices(_WORDS, k=rng.randint(0, 40)))
        if index % 10 == 0:
            body += " " + _long_run(rng)
        lines.append(body)
        files.append("\n".join(lines) + "\n")
    return files


def run_corpus(folder: str) -> dict:
    """Load and render every file in `folder` for the default channels; what was not a PostbotError."""
    from pathlib import Path

    from postbot.config import load_settings
    from postbot.errors import PostbotError
    from postbot.posts import load_post
    from postbot.render import Renderer

    from postbot.redact import redact

    channels = load_settings({"POSTBOT_TIMEZONE": "UTC"}).channels
    renderer, crashes, files = Renderer(), [], sorted(Path(folder).glob("*.md"))
    for path in files:
        try:
            redact(path.read_text(encoding="utf-8"))       # what printing or storing its words costs
            post = load_post(path)
            for channel in channels:
                try:
                    redact(renderer.render(post, channel).text)
                except PostbotError:
                    pass
        except PostbotError:
            pass
        except Exception as exc:  # the point: anything else is a crash to report
            crashes.append(f"{path.name}: {type(exc).__name__}: {exc}"[:300])
    return {"files": len(files), "crashes": crashes}


def test_fuzzed_hostile_files_never_crash_or_hang(tmp_path):
    for index, text in enumerate(hostile_corpus(300, seed=17)):
        (tmp_path / f"{index:03}.md").write_text(text, encoding="utf-8")
    code = f"import json; from tests.test_hostile_posts import run_corpus; print(json.dumps(run_corpus({str(tmp_path)!r})))"
    try:
        result = subprocess.run([sys.executable, "-c", code], env=child_env({}), cwd=REPO, capture_output=True,
                                text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("the fuzz run hung: 300 files did not load and render within 240 s (milliseconds each when linear)")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["files"] == 300
    assert report["crashes"] == []


# ---- overrides may only narrow what a channel does ---------------------------------------------------------------
@pytest.mark.parametrize("override,needle", [
    ('{x: {template: "__init__.py"}}', "must be the name of a .j2 file"),
    ('{x: {template: "../templates/x.j2"}}', "must be the name of a .j2 file"),
    ("{x: {limit: 100000}}", "may only lower the limit"),
    ("{x: {limit: 1}}", "empty post"),
])
def test_overrides_cannot_raise_limits_pick_other_files_or_empty_a_post(env, tmp_path, override, needle):
    path = tmp_path / "post.md"
    path.write_text(f"---\ntitle: Squats\noverrides: {override}\n---\n" + "A sentence about squats. " * 400 + "\n",
                    encoding="utf-8")
    for command in (["preview", str(path), "--channel", "x"], ["queue", str(path), "--at", "+1d", "--channel", "x"]):
        result = postbot(command, env, tmp_path)
        assert result.returncode == 2, (command, result.stdout[-500:])
        assert needle in result.stderr and "Traceback" not in result.stderr


def test_a_template_setting_that_is_not_a_template_is_refused(env, tmp_path):
    path = tmp_path / "post.md"
    path.write_text("A sentence about squats.\n", encoding="utf-8")
    result = postbot(["preview", str(path), "--channel", "x"], {**env, "X_TEMPLATE": "__init__.py"}, tmp_path)
    assert result.returncode == 2 and "X_TEMPLATE" in result.stderr and ".j2" in result.stderr


def test_a_template_that_renders_nothing_is_an_error(env, tmp_path):
    templates = tmp_path / "mytpl"
    templates.mkdir()
    (templates / "x.j2").write_text("{# nothing #}\n", encoding="utf-8")
    path = tmp_path / "post.md"
    path.write_text("A sentence about squats.\n", encoding="utf-8")
    result = postbot(["preview", str(path), "--channel", "x"], {**env, "POSTBOT_TEMPLATES": str(templates)}, tmp_path)
    assert result.returncode == 2 and "empty post" in result.stderr


# ---- templates are code, unless sandboxed ------------------------------------------------------------------------
def test_the_template_sandbox_stops_a_template_from_running_code(env, tmp_path):
    templates = tmp_path / "mytpl"
    templates.mkdir()
    marker = tmp_path / "ran"
    (templates / "x.j2").write_text(
        "{{ teaser }}{{ ''.__class__.__mro__[1].__subclasses__() and cycler.__init__.__globals__.os.system("
        f"'touch {marker}') }}}}\n", encoding="utf-8")
    path = tmp_path / "post.md"
    path.write_text("A sentence about squats.\n", encoding="utf-8")
    shared = {**env, "POSTBOT_TEMPLATES": str(templates)}
    postbot(["preview", str(path), "--channel", "x"], shared, tmp_path)
    assert marker.exists()                      # templates are code: documented in SECURITY.md
    marker.unlink()
    result = postbot(["preview", str(path), "--channel", "x"], {**shared, "POSTBOT_TEMPLATE_SANDBOX": "on"}, tmp_path)
    assert result.returncode == 2 and "POSTBOT_TEMPLATE_SANDBOX" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()
