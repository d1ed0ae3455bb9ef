"""The dashboard driven in real headless Chromium (Debian's, through Playwright): compose the seed,
see ten cards, queue it at the next slot, find it on the calendar, cancel, reschedule and resolve.
Screenshots of the calendar and a post page go to the test's tmp folder (never committed)."""
from __future__ import annotations

import re

import pytest

from postbot.models import State
from tests.helpers import NOW, seed_path
from tests.web_server import PLATFORMS, dashboard  # noqa: F401  (fixture)


@pytest.fixture
def page(chromium):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def test_a_coach_composes_queues_and_decides_in_chromium(dashboard, page, tmp_path):
    page.goto(dashboard.url + "/compose")
    page.fill("#article", seed_path().read_text(encoding="utf-8"))
    page.click("button[value=preview]")
    cards = page.locator("article.card")
    assert cards.count() == 10
    assert sorted(cards.evaluate_all("cs => cs.map(c => c.dataset.channel)")) == sorted(PLATFORMS)
    for card in cards.all():
        length, limit = int(card.get_attribute("data-length")), int(card.get_attribute("data-limit"))
        assert card.locator(".counter span").first.inner_text() == f"{length} / {limit}" and length <= limit
    assert "big resounding NO" in cards.first.inner_text()
    page.screenshot(path=str(tmp_path / "compose.png"), full_page=True)
    assert page.locator("#repair-hint").count() == 1              # the seed has mis-decoded dashes
    page.check("input[name=repair]")
    page.click("button[value=preview]")
    assert page.locator("#repair-hint").count() == 0 and page.locator("article.card").count() == 10
    page.click("button[value=queue]")
    page.wait_for_url(re.compile(r"/calendar\?start=2026-12-01"))
    [post_card] = page.locator("#calendar [data-day='2026-12-01'] .group").all()     # one card for the post
    assert post_card.locator(".time").inner_text() == "17:30"        # the next slot, Europe/London
    assert post_card.locator(".what").inner_text() == "How would you rate the Hip Thrust?"
    entries = post_card.locator("a.entry")                            # a chip per network, each a delivery
    assert sorted(entries.evaluate_all("es => es.map(e => e.dataset.channel)")) == sorted(PLATFORMS)
    assert set(entries.evaluate_all("es => es.map(e => e.dataset.state)")) == {"scheduled"}
    page.screenshot(path=str(tmp_path / "calendar.png"), full_page=True)
    assert dashboard.store.counts() == {"scheduled": 10}

    first, second, third = (d.id for d in dashboard.store.list()[:3])
    page.goto(f"{dashboard.url}/deliveries/{first}")
    page.screenshot(path=str(tmp_path / "post.png"), full_page=True)
    stored = {d.channel: d.parts[0].length for d in dashboard.store.list()}
    shown = page.locator("#cards article.card").evaluate_all(
        "cs => Object.fromEntries(cs.map(c => [c.dataset.channel, Number(c.dataset.length)]))")
    assert shown == stored
    page.click("button[name=cancel]")
    assert page.inner_text("#state") == "cancelled"
    assert dashboard.store.get(first).state is State.CANCELLED

    page.goto(f"{dashboard.url}/deliveries/{second}")
    page.fill("input[name=at]", "2026-12-08T09:00")
    page.click("button[name=reschedule]")
    assert dashboard.store.get(second).due_at.isoformat() == "2026-12-08T09:00:00+00:00"
    page.goto(dashboard.url + "/calendar?start=2026-12-08")
    assert page.locator(f"[data-day='2026-12-08'] a.entry[data-delivery='{second}']").count() == 1

    dashboard.store.reschedule(third, NOW, NOW)
    [claimed] = dashboard.store.claim_due(NOW, worker="w", lease_seconds=60)
    dashboard.store.finish(claimed.id, worker="w", state=State.UNKNOWN, now=NOW, error="timed out after sending")
    page.goto(f"{dashboard.url}/deliveries/{third}")
    assert page.inner_text("#state") == "unknown"
    page.screenshot(path=str(tmp_path / "unknown.png"))
    page.fill("input[name=url]", "https://bsky.app/profile/coach/post/3k")
    page.click("button[name=resolve]")
    assert page.inner_text("#state") == "published"
    assert page.get_attribute("#live", "href") == "https://bsky.app/profile/coach/post/3k"
    settled = dashboard.store.get(third)
    assert (settled.state, settled.remote_url) == (State.PUBLISHED, "https://bsky.app/profile/coach/post/3k")
    assert (tmp_path / "calendar.png").stat().st_size > 10_000 and (tmp_path / "post.png").stat().st_size > 10_000
