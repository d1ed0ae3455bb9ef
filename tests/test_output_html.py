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
