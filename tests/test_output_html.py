"""`postbot preview --html` opened in a real headless Chromium."""
from __future__ import annotations

import subprocess

from postbot.platforms import PLATFORMS
from tests.process import REPO, postbot
from tests.services import chromium_command

EXAMPLE = REPO / "posts" / "hip-thrust-alternatives.md"


def test_html_preview_renders_a_card_per_channel_in_chromium(chromium, tmp_path):
    page = tmp_path / "preview.html"
    result = postbot(["preview", str(EXAMPLE), "--html", str(page)],
                     {"POSTBOT_TIMEZONE": "UTC", "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html.split("<body>")[0] and "<script src" not in html   # self-contained

    dom = subprocess.run(chromium_command(chromium, tmp_path / "profile", "--dump-dom", page.as_uri()),
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for platform in PLATFORMS:
        assert f'data-platform="{platform}"' in dom.stdout
    assert dom.stdout.count('class="card"') == len(PLATFORMS)
    assert 'class="fold"' in dom.stdout                       # LinkedIn/Facebook/Instagram fold marked
    assert "/ 280" in dom.stdout and "/ 300" in dom.stdout     # counters

    shot = tmp_path / "preview.png"
    subprocess.run(chromium_command(chromium, tmp_path / "profile2", f"--screenshot={shot}",
                                    "--window-size=1200,2000", page.as_uri()),
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000                       # a real picture, not a blank page


# Measures the page as Chromium laid it out and writes what it found into the DOM for --dump-dom.
MEASURE = """<script>
window.addEventListener('load', () => {
  const found = {clipped: [], folds: [], links: {}};
  for (const card of document.querySelectorAll('.card')) {
    const edge = card.getBoundingClientRect().right;
    for (const a of card.querySelectorAll('.links a, .body a')) {
      for (const box of a.getClientRects()) {
        if (box.right > edge + 0.5) found.clipped.push(card.dataset.channel + ': ' + a.textContent);
      }
    }
    const fold = card.querySelector('.fold');
    if (fold) {
      const before = fold.previousSibling ? fold.previousSibling.textContent : '';
      const after = fold.nextSibling ? fold.nextSibling.textContent : '';
      found.folds.push([card.dataset.channel, before.slice(-1), after.slice(0, 1)]);
    }
    found.links[card.dataset.channel] = [...card.querySelectorAll('.body a')].map(a => [a.textContent, a.href]);
  }
  const out = document.createElement('pre');
  out.id = 'measured';
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


def test_html_preview_layout_links_and_folds_as_chromium_shows_them(chromium, tmp_path):
    import html
    import json
    import re

    page = tmp_path / "preview.html"
    env = {"POSTBOT_TIMEZONE": "UTC", "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    assert postbot(["preview", str(EXAMPLE), "--html", str(page)], env, tmp_path).returncode == 0
    measured_page = tmp_path / "measured.html"
    measured_page.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = subprocess.run(chromium_command(chromium, tmp_path / "profile", "--window-size=1200,2000",
                                          "--dump-dom", measured_page.as_uri()),
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = json.loads(html.unescape(re.search(r'<pre id="measured">(.*?)</pre>', dom.stdout, re.S).group(1)))

    assert found["clipped"] == []                                  # link lists wrap inside their card
    assert {channel for channel, _, _ in found["folds"]} >= {"linkedin", "facebook", "instagram"}
    for channel, before, after in found["folds"]:
        assert not (before.isalnum() and after.isalnum()), (channel, before, after)   # never inside a word
    telegram = dict(found["links"]["telegram"])
    assert telegram["Personal Training"].startswith("https://example.com/personal-training?")
    slack = dict(found["links"]["slack"])
    assert slack["Personal Training"].startswith("https://example.com/personal-training?")
    for _, href in found["links"]["slack"] + found["links"]["x"] + found["links"]["mastodon"]:
        assert not href.endswith((")", "%29", ".", ","))               # the target is the link, not its bracket


def test_fold_is_at_a_word_start_in_the_text_as_sent():
    from postbot.models import Channel
    from postbot.platforms import rules_class
    from postbot.platforms.base import Prepared

    text = "Walk into almost any commercial gym on a Monday evening " * 10
    for platform in ("linkedin", "facebook", "instagram"):
        rules = rules_class(platform)(Channel(platform, platform, platform))
        fold = rules.fold_index(Prepared(text, []))
        assert fold is not None and fold <= rules.fold
        assert text[fold - 1] == " " and text[fold] != " ", (platform, text[fold - 5:fold + 5])


def test_an_html_preview_into_a_missing_folder_or_over_a_folder_exits_2_naming_it(tmp_path):
    env = {"POSTBOT_TIMEZONE": "UTC", "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    missing = tmp_path / "no-such-folder" / "preview.html"
    result = postbot(["preview", str(EXAMPLE), "--html", str(missing)], env, tmp_path)
    assert result.returncode == 2 and f"--html {missing}: the folder" in result.stderr
    assert "Traceback" not in result.stderr and not missing.parent.exists()
    taken = tmp_path / "a-folder"
    (taken / "inside").mkdir(parents=True)
    result = postbot(["preview", str(EXAMPLE), "--html", str(taken)], env, tmp_path)
    assert result.returncode == 2 and f"--html {taken}: cannot write it" in result.stderr
    assert "Traceback" not in result.stderr and (taken / "inside").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("a-folder")) == ["a-folder"]
