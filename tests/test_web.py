"""`postbot serve` over HTTP: the same use cases as the CLI, and its guards (Host, CSRF, login token,
escaping). The browser tests are in test_web_chromium.py."""
from __future__ import annotations

import html
import re

import pytest

from postbot import app
from postbot.models import State
from tests.helpers import NOW, seed_path, write_post
from tests.process import postbot
from tests.web_server import PLATFORMS, dashboard, serve_dashboard  # noqa: F401  (fixture)

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client) -> str:
    return CSRF.search(client.get("/compose").text).group(1)


def queue_one(board, channel: str = "x", **front):
    from postbot.posts import load_post
    path = write_post(board.posts_dir.parent, "Hip thrusts are overrated. Here is why, and what to do instead.",
                      title=front.pop("title", "Hip thrust"), **front)
    return app.queue(board.settings, board.store, load_post(path), [channel], at="+1h", now=NOW)[0]


def test_compose_previews_every_channel_as_the_cli_does_and_queues_all_of_them(dashboard):
    client = dashboard.client()
    token = csrf_of(client)
    article = seed_path().read_text(encoding="utf-8")
    form = {"csrf": token, "article": article, "kind": "plain", "at": "next", "channel": list(PLATFORMS)}
    page = client.post("/compose", data={**form, "action": "preview"})
    assert page.status_code == 200
    lengths = dict(re.findall(r'data-channel="([^"]+)" data-platform="[^"]+" data-length="(\d+)"', page.text))
    from postbot.posts import load_post, slugify
    as_a_file = dashboard.posts_dir.parent / f"{slugify('How would you rate the Hip Thrust?')}.txt"
    as_a_file.write_bytes(seed_path().read_bytes())         # what `postbot preview FILE` shows for it
    expected = app.preview(dashboard.settings, dashboard.store, load_post(as_a_file), list(PLATFORMS))
    assert lengths == {r.channel: str(r.length) for r in expected.renders} and len(lengths) == 10
    assert dashboard.store.counts() == {}                       # a preview writes nothing

    queued = client.post("/compose", data={**form, "action": "queue"})
    assert queued.status_code == 303 and queued.headers["location"].startswith("/calendar?start=2026-12-01")
    deliveries = dashboard.store.list()
    assert sorted(d.channel for d in deliveries) == sorted(PLATFORMS)
    assert {d.due_at.isoformat() for d in deliveries} == {"2026-12-01T17:30:00+00:00"}   # next free slot
    by_channel = {r.channel: r.text for r in expected.renders}
    assert all(d.parts[0].text == by_channel[d.channel] for d in deliveries)   # preview == what is sent
    [saved] = list(dashboard.posts_dir.iterdir())
    assert saved.read_text(encoding="utf-8") == article.replace("\r\n", "\n")
    calendar = client.get(queued.headers["location"]).text
    assert calendar.count('class="entry state-scheduled"') == 10


def test_compose_shows_the_clis_errors_beside_the_field_and_writes_nothing(dashboard):
    client = dashboard.client()
    token = csrf_of(client)
    bad_front = "---\ntitle: Fine\nthread: maybe\n---\nA body.\n"
    page = client.post("/compose", data={"csrf": token, "article": bad_front, "kind": "markdown", "at": "next",
                                          "channel": ["x"], "action": "queue"})
    assert page.status_code == 400
    error = html.unescape(re.search(r'id="article-error">([^<]*)<', page.text).group(1))
    assert error == "article.md:3: 'thread' must be true or false, got 'maybe'; write thread: true"
    page = client.post("/compose", data={"csrf": token, "article": "A body that is fine.", "kind": "plain",
                                          "at": "someday", "channel": ["x"], "action": "queue"})
    assert page.status_code == 400 and "--at" in re.search(r'id="at-error">([^<]*)<', page.text).group(1)
    assert dashboard.store.counts() == {} and not list(dashboard.posts_dir.glob("*"))


def test_decisions_change_the_store_as_the_cli_would(dashboard):
    client = dashboard.client()
    token = csrf_of(client)
    cancelled, moved, unknown, retried = (queue_one(dashboard, c) for c in ("x", "bluesky", "mastodon", "slack"))
    assert client.post(f"/deliveries/{cancelled.id}/cancel", data={"csrf": token}).status_code == 303
    assert dashboard.store.get(cancelled.id).state is State.CANCELLED
    assert client.post(f"/deliveries/{moved.id}/reschedule", data={"csrf": token, "at": "2026-12-08T09:00"}).status_code == 303
    assert dashboard.store.get(moved.id).due_at.isoformat() == "2026-12-08T09:00:00+00:00"
    wrong = client.post(f"/deliveries/{moved.id}/reschedule", data={"csrf": token, "at": "tomorrowish"})
    assert wrong.status_code == 400 and "--at" in wrong.text
    for delivery in (unknown, retried):
        dashboard.store.reschedule(delivery.id, NOW, NOW)
    for claimed in dashboard.store.claim_due(NOW, worker="w", lease_seconds=60):
        dashboard.store.finish(claimed.id, worker="w", state=State.UNKNOWN, now=NOW, error="timed out after sending")
    url = "https://mastodon.social/@coach/1"
    assert client.post(f"/deliveries/{unknown.id}/published", data={"csrf": token, "url": url}).status_code == 303
    settled = dashboard.store.get(unknown.id)
    assert (settled.state, settled.remote_url) == (State.PUBLISHED, url)
    assert client.post(f"/deliveries/{retried.id}/retry", data={"csrf": token}).status_code == 303
    assert dashboard.store.get(retried.id).state is State.SCHEDULED
    page = client.get(f"/deliveries/{unknown.id}").text
    assert f'href="{url}"' in page and "published" in page


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(dashboard):
    delivery = queue_one(dashboard)
    client = dashboard.client()
    token = csrf_of(client)
    assert client.post(f"/deliveries/{delivery.id}/cancel", data={}).status_code == 403
    assert client.post(f"/deliveries/{delivery.id}/cancel", data={"csrf": "guessed"}).status_code == 403
    stranger = dashboard.client()                       # another browser: its own cookie, not ours
    assert stranger.post(f"/deliveries/{delivery.id}/cancel", data={"csrf": token}).status_code == 403
    cross = client.post(f"/deliveries/{delivery.id}/cancel", data={"csrf": token},
                        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert dashboard.store.get(delivery.id).state is State.SCHEDULED
    cookie = client.get("/compose").headers.get("set-cookie") or ""
    fresh = dashboard.client().get("/compose").headers["set-cookie"].lower()
    assert "httponly" in fresh and "samesite=strict" in fresh and cookie == ""   # set once per browser


def test_requests_for_another_host_name_are_refused(dashboard):
    answer = dashboard.client().get("/calendar", headers={"Host": "rebind.evil.example:8377"})
    assert answer.status_code == 421 and "calendar" not in answer.text.lower()


def test_a_hostile_title_and_body_render_as_text(dashboard):
    delivery = queue_one(dashboard, title="<script>alert(1)</script>")
    client = dashboard.client()
    for path in (f"/deliveries/{delivery.id}", "/calendar?start=2026-12-01"):
        page = client.get(path).text
        assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/deliveries/{delivery.id}").text


def test_with_a_serve_token_every_page_needs_a_login(tmp_path):
    server, thread, board = serve_dashboard(tmp_path, token="a-long-random-dashboard-token")
    try:
        client = board.client()
        assert client.get("/calendar").headers["location"] == "/login"
        token = CSRF.search(client.get("/login").text).group(1)
        wrong = client.post("/login", data={"csrf": token, "token": "nope"})
        assert wrong.status_code == 403 and "a-long-random" not in wrong.text
        right = client.post("/login", data={"csrf": token, "token": "a-long-random-dashboard-token"})
        assert right.status_code == 303 and "a-long-random" not in right.headers["set-cookie"]
        assert client.get("/calendar").status_code == 200
    finally:
        server.should_exit = True
        thread.join(10)


def test_status_page_shows_channels_and_the_queue_without_secrets(tmp_path):
    secret = "xoxb-never-show-this-secret-value"
    server, thread, board = serve_dashboard(tmp_path, extra_env={
        "POSTBOT_CHANNELS": "team=slack", "TEAM_WEBHOOK_URL": f"https://hooks.slack.com/services/T0/B0/{secret}"})
    try:
        page = board.client().get("/status").text
        assert "team" in page and "slack" in page and "scheduled 0" in page
        assert secret not in page
        assert "No daemon is running" in page
        from postbot.store.channels import HEARTBEATS
        board.store.state_set(HEARTBEATS, "host-123-abc", {"at": board.clock.now.isoformat(), "in_flight": 0})
        page = board.client().get("/status").text
        assert "daemon host-123-abc running" in page and "No daemon" not in page
    finally:
        server.should_exit = True
        thread.join(10)


def test_status_page_shows_alerts_waiting_and_a_digest_that_failed(tmp_path):
    from postbot.models import AlertEvent, Part
    server, thread, board = serve_dashboard(tmp_path, extra_env={
        "POSTBOT_CHANNELS": "x=outbox,ops=outbox", "OPS_RENDER_AS": "telegram", "POSTBOT_ALERTS": "ops"})
    try:
        store, now = board.store, board.clock.now
        store.add_alert_events([AlertEvent("failed:1", "failed", "x", "#1 x (post): boom", now),
                                AlertEvent("failed:2", "failed", "x", "#2 x (post): boom", now)])
        post = {"slug": "postbot-alert", "title": "postbot: a delivery failed", "source": "postbot alerts",
                "snapshot": {}, "deliveries": [{"channel": "ops", "platform": "telegram", "due_at": now,
                                                "parts": [Part("a", 1, {})],
                                                "idempotency_key": "alert-k"}]}
        (digest,) = store.add_alert_digest("failed", ["failed:1"], [post], now)
        (claimed,) = store.claim_due(now, worker="w", lease_seconds=60)
        store.finish(claimed.id, worker="w", state=State.FAILED, now=now, error="telegram answered 400")
        page = board.client().get("/status").text
        assert 'id="alerts"' in page and "Told to ops." in page and "1 waiting for the next digest" in page
        assert f"alert #{digest.id} to ops</a> failed: telegram answered 400" in page
    finally:
        server.should_exit = True
        thread.join(10)


def test_serve_on_a_public_address_without_a_token_refuses_to_start(tmp_path):
    result = postbot(["serve", "--host", "0.0.0.0", "--port", "0"], {"POSTBOT_DATABASE_URL":
                     f"sqlite:///{tmp_path / 'db.sqlite'}"}, tmp_path, timeout=30)
    assert result.returncode == 2
    assert "POSTBOT_SERVE_TOKEN" in result.stderr and "0.0.0.0" in result.stderr


def test_serve_with_daemon_publishes_what_is_due_and_stops_cleanly_on_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys

    import httpx

    from postbot.store import open_store
    from tests.process import child_env, wait_for
    from tests.web_server import _free_port

    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
           "OUTBOX_DIR": str(tmp_path / "outbox"), "POSTBOT_TIMEZONE": "UTC"}
    path = write_post(tmp_path, "Hip thrusts are overrated. Here is why.", title="Hip thrust")
    assert postbot(["queue", str(path), "--at", "now", "--channel", "x"], env, tmp_path).returncode == 0
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "postbot", "serve", "--with-daemon", "--port", str(port)],
                              env=child_env(env), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        store = open_store(env["POSTBOT_DATABASE_URL"])
        assert wait_for(lambda: store.counts() == {"published": 1}, timeout=30), store.counts()
        pages = []

        def calendar_served() -> bool:
            try:
                pages.append(httpx.get(f"http://127.0.0.1:{port}/calendar", timeout=10))
            except httpx.TransportError:
                return False
            return True
        assert wait_for(calendar_served, timeout=30)
        assert pages[-1].status_code == 200 and "Hip thrust" in pages[-1].text     # today's week shows it
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)
    assert code == 0, server.stderr.read().decode()
    assert list((tmp_path / "outbox").rglob("*")), "the daemon inside serve wrote nothing to the outbox"


def test_serve_watch_without_with_daemon_is_refused(tmp_path):
    result = postbot(["serve", "--watch", str(tmp_path), "--port", "0"],
                     {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}, tmp_path, timeout=30)
    assert result.returncode == 2 and "--with-daemon" in result.stderr


def test_the_calendar_shows_a_post_as_one_card_with_a_chip_per_network_in_its_state(dashboard):
    from postbot.posts import load_post
    path = write_post(dashboard.posts_dir.parent, "Squat as deep as you can own. Here is how.", title="Squat depth")
    first, second = app.queue(dashboard.settings, dashboard.store, load_post(path), ["x", "bluesky"], at="+1h", now=NOW)
    dashboard.store.cancel(second.id, NOW)
    other = queue_one(dashboard, "mastodon", title="Deadlift grip")
    page = dashboard.client().get(f"/calendar?start={first.due_at.date().isoformat()}").text
    cards = re.findall(r'<div class="group" data-post="(\d+)">(.*?)</div>\s*</div>', page, re.S)
    assert [post for post, _ in cards] == [str(first.post_id), str(other.post_id)]
    chips = {post: re.findall(r'class="entry state-(\w+)"[^>]*data-channel="(\w+)"', body) for post, body in cards}
    assert chips[str(first.post_id)] == [("scheduled", "x"), ("cancelled", "bluesky")]
    assert chips[str(other.post_id)] == [("scheduled", "mastodon")]
    assert '<span class="badge">–</span>' in cards[0][1] and "Squat depth" in cards[0][1]
    # The day's heading counts its deliveries (every chip, cancelled ones too).
    day = first.due_at.astimezone(dashboard.settings.zone()).date().isoformat()
    heading, section = re.search(rf'data-day="{day}">\s*<h2><span>[^<]*</span><span>(\d*)</span></h2>(.*?)</section>',
                                 page, re.S).groups()
    assert int(heading) == section.count('class="entry state-') >= 2


def test_an_unknown_address_is_a_page_of_the_dashboard_not_a_bare_404(dashboard):
    answer = dashboard.client().get("/no/such/page")
    assert answer.status_code == 404
    assert "There is no page at /no/such/page." in answer.text and "Back to the calendar" in answer.text
