"""Alerts (POSTBOT_ALERTS) in one process with a hand-moved clock: a failing channel is told once to a
Telegram fake and once by email (a local STARTTLS SMTP server), digests fold what happens within the
window, an alert channel is never told about itself and never holds up a post, tokens and credentials
are watched, and `status` says what waits."""
from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from postbot import output
from postbot.app import publishing
from postbot.app.alerting import LOOKBACK, PAGE, Alerts, alerts_for
from postbot.app.channels import select_channels
from postbot.app.health import alerts_status, daemons, status
from postbot.errors import ConfigError
from postbot.models import State
from tests.fakes.server import Reply
from tests.fakes.slack import BOT, SECRET, TEAM, FakeSlack
from tests.fakes.smtp import FakeSMTP, free_port
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.fakes.webhook import WebhookReceiver
from tests.helpers import NOW, Clock, add_delivery, part, run_once, settings_for, sqlite_store

CHAT = "-1001234567890"


@pytest.fixture
def telegram():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def smtp(tmp_path):
    with FakeSMTP(tmp_path) as fake:
        yield fake


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def hooks(clock):
    """A receiver whose secret the `hooks` channel gets wrong (every delivery to it fails with a 401) and
    `good` gets right; it checks signature timestamps against the runner's clock."""
    with WebhookReceiver(clock=lambda: clock.now.timestamp()) as fake:
        yield fake


def telegram_settings(fake, name: str = "ops") -> dict[str, str]:
    prefix = name.upper()
    return {f"{prefix}_BOT_TOKEN": TOKEN, f"{prefix}_CHAT_ID": CHAT, f"{prefix}_API_URL": fake.url}


def env_for(hooks, *, telegram=None, smtp=None, slack=None, **extra) -> dict[str, str]:
    channels, alerts = ["hooks=webhook", "good=webhook"], []
    env = {"HOOKS_URL": hooks.hook_url, "HOOKS_SECRET": "not-the-receivers-secret",
           "GOOD_URL": hooks.hook_url, "GOOD_SECRET": "s3cret-value"}
    if telegram is not None:
        channels.append("ops=telegram")
        alerts.append("ops")
        env.update(telegram_settings(telegram))
    if smtp is not None:
        channels.append("mail=email")
        alerts.append("mail")
        env.update(smtp.settings())
    if slack is not None:
        channels.append("chat=slack")
        alerts.append("chat")
        env["CHAT_WEBHOOK_URL"] = slack.webhook_url
    env.update({"POSTBOT_CHANNELS": ",".join(channels), "POSTBOT_ALERTS": ",".join(alerts), **extra})
    return env


def fail_one(store, channel: str = "hooks", slug: str = "post", due=NOW):
    return add_delivery(store, channel, [part(f"{slug} text", {"text": f"{slug} text"})], platform="generic",
                        slug=slug, due=due)


def failing_at(store, at, count: int = 1, slug: str = "burst") -> list:
    """`count` deliveries that fail at the moment `at`, each on its own channel (a claim takes one a channel);
    the alert channels' digests are left for the runner."""
    queued = store.add_post(slug=slug, title=slug, source=f"{slug}.md", snapshot={"slug": slug}, now=at, deliveries=[
        {"channel": f"{slug}{n}", "platform": "generic", "due_at": at, "parts": [part("hi", {"text": "hi"})],
         "idempotency_key": f"{slug}-{n}"} for n in range(count)])
    while claimed := store.claim_due(at, worker="elsewhere:1:w", lease_seconds=60, limit=256,
                                     exclude_channels=("ops", "mail", "chat")):
        for delivery in claimed:
            assert store.finish(delivery.id, worker="elsewhere:1:w", state=State.FAILED, now=at, error="boom")
    return queued


def wake(store, settings, clock: Clock):
    """`run --once` at the clock's time, the steps of a daemon's wake: publish what is due, let alerts
    notice and queue digests, publish those; returns when the next digest may go."""
    publishing.run_once(settings, store, clock=clock)
    return alerts_status(settings, store, clock()).next_digest_at


def getme_calls(telegram) -> int:
    """How often the bot's credentials were checked."""
    return sum(request.path.endswith("/getMe") for request in telegram.requests)


def alert_texts(telegram) -> list[str]:
    return [sent.visible for sent in telegram.sent if str(sent.chat.id) == CHAT]


# ---- one failure, two alert channels, told once ----------------------------------------------------
def test_a_failing_channel_is_told_once_to_telegram_and_once_by_email_even_when_noticed_again(
        tmp_path, telegram, smtp, hooks, clock):
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram, smtp=smtp))
    delivery = fail_one(store)
    wake(store, settings, clock)
    assert store.get(delivery.id).state is State.FAILED
    (text,) = alert_texts(telegram)
    assert text.startswith("postbot: a delivery failed")
    assert f"#{delivery.id} hooks (post): webhook hooks answered 401" in text
    (mail,) = smtp.received
    assert mail.tls and mail.login == smtp.user and mail.rcpt_tos == ["ops@example.com"]
    assert mail.message["Subject"] == "[postbot] postbot: a delivery failed"
    assert f"#{delivery.id} hooks (post): webhook hooks answered 401" in mail.message.get_content()
    # The digests are ordinary deliveries, published; a new process (a restart) notices the same failure
    # again, an hour later too, and tells nobody.
    digests = store.alert_deliveries((State.PUBLISHED,))
    assert sorted(d.channel for d in digests) == ["mail", "ops"]
    clock.advance(hours=1)
    wake(store, settings, clock)
    wake(store, settings, clock)
    assert len(alert_texts(telegram)) == 1 and len(smtp.received) == 1
    assert [e.kind for e in store.alert_events()] == ["failed"]


def test_a_delivery_that_fails_again_after_a_retry_is_a_new_alert(tmp_path, telegram, hooks, clock):
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram, POSTBOT_ALERTS_DIGEST_MINUTES="0"))
    delivery = fail_one(store)
    wake(store, settings, clock)
    store.retry(delivery.id, clock.advance(minutes=5))
    wake(store, settings, clock)
    assert len(alert_texts(telegram)) == 2


def test_an_unknown_delivery_is_its_own_kind_of_alert(tmp_path, telegram, hooks, clock):
    store = sqlite_store(tmp_path)
    delivery = fail_one(store, "good")
    hooks.script.append(Reply(502, {"error": "bad gateway"}))       # it may have landed; no blind re-send
    settings = settings_for({**env_for(hooks, telegram=telegram), "GOOD_IDEMPOTENT": "off"})
    wake(store, settings, clock)
    assert store.get(delivery.id).state is State.UNKNOWN
    (text,) = alert_texts(telegram)
    assert text.startswith("postbot: a delivery may or may not have been published")
    assert f"#{delivery.id} good (post): may or may not have been published" in text


def test_more_failures_at_one_moment_than_a_page_holds_are_all_told(tmp_path, telegram, hooks, clock):
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram))
    alerts = alerts_for(settings, store)
    burst = failing_at(store, clock(), PAGE + 100)
    wake(store, settings, clock)
    (text,) = alert_texts(telegram)
    assert text.startswith(f"postbot: {PAGE + 100} deliveries failed")
    assert {e.subject for e in store.alert_events(limit=2 * PAGE)} == {d.channel for d in burst}
    assert alerts.notice(clock.advance(seconds=1)) == [] and store.pending_alerts() == []


def test_a_failure_that_turns_up_behind_where_the_look_got_to_is_told_once_it_is_lookback_old(
        tmp_path, telegram, hooks, clock):
    """On PostgreSQL a transaction may commit after a later one, and machines' clocks differ: a failure
    stamped before one already read is read on the second look, LOOKBACK behind the first."""
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram))
    alerts = alerts_for(settings, store)
    (first,) = failing_at(store, clock.advance(seconds=10), slug="first")
    assert alerts.notice(clock()) == [f"failed:{first.id}:{int(clock().timestamp() * 1000)}"]
    (late,) = failing_at(store, NOW + timedelta(seconds=5), slug="late")       # behind where that look got to
    clock.now = NOW + timedelta(seconds=5) + LOOKBACK
    assert alerts.notice(clock()) == [f"failed:{late.id}:{int((NOW + timedelta(seconds=5)).timestamp() * 1000)}"]
    assert alerts.notice(clock.advance(minutes=1)) == []


def test_the_daemon_looks_for_failures_at_most_once_a_second_but_sends_a_due_digest_at_once(
        tmp_path, telegram, hooks, clock):
    """Every delivery that finishes wakes the daemon: a wake within a second of the last look leaves
    failures for a wake armed a second after it, unless a digest is due."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from postbot.daemon import Daemon
    from postbot.runner import Runner
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram, POSTBOT_ALERTS_DIGEST_MINUTES="30"))
    daemon = Daemon(Runner(store, settings, clock=clock), store, alerts=alerts_for(settings, store))
    scheduler = AsyncIOScheduler()                                  # not started: it only holds the wake
    daemon._tick_alerts()
    failing_at(store, clock(), slug="first")
    clock.advance(milliseconds=500)
    daemon._tick_alerts()
    assert store.alert_events() == []                               # too soon after the last look ...
    daemon._arm(scheduler, clock())
    assert daemon._armed == NOW + timedelta(seconds=1)              # ... so a wake comes when one is allowed
    clock.advance(milliseconds=500)
    daemon._tick_alerts()
    assert [e.subject for e in store.alert_events()] == ["first0"]  # told at once: the first of its kind
    failing_at(store, clock.advance(minutes=5), slug="second")
    daemon._tick_alerts()
    assert [e.subject for e in store.pending_alerts()] == ["second0"]
    assert daemon._alerts_next == NOW + timedelta(seconds=1, minutes=30)    # its digest waits for the window
    clock.now = daemon._alerts_next - timedelta(milliseconds=100)
    daemon._tick_alerts()
    clock.now = daemon._alerts_next
    daemon._tick_alerts()                                           # 0.1 s after a look, but due
    assert store.pending_alerts() == [] and len(store.alert_deliveries((State.SCHEDULED,))) == 2


# ---- rate limiting -----------------------------------------------------------------------------------
def test_failures_within_the_window_are_folded_into_the_next_digest(tmp_path, telegram, hooks, clock):
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram, POSTBOT_ALERTS_DIGEST_MINUTES="30"))
    first = fail_one(store, slug="first", due=clock())
    assert wake(store, settings, clock) is None
    assert len(alert_texts(telegram)) == 1                          # the first is told at once
    later = []
    for minutes in (5, 10, 20):
        clock.now = NOW + timedelta(minutes=minutes)
        later.append(fail_one(store, slug=f"later{minutes}", due=clock()))
        assert wake(store, settings, clock) == NOW + timedelta(minutes=30)   # when the daemon wakes for it
    assert len(alert_texts(telegram)) == 1
    pending = status(settings, store, clock(), offline=True).alerts
    assert len(pending.pending) == 3 and pending.next_digest_at == NOW + timedelta(minutes=30)
    clock.now = NOW + timedelta(minutes=30)
    assert wake(store, settings, clock) is None
    texts = alert_texts(telegram)
    assert len(texts) == 2
    assert texts[1].startswith("postbot: 3 deliveries failed")
    assert all(f"#{d.id} hooks ({d.post_slug})" in texts[1] for d in later)
    assert f"#{first.id} " not in texts[1]


def test_kinds_are_rate_limited_apart(tmp_path, telegram, hooks, clock):
    """A burst of failures does not hold back a token alert."""
    from postbot.alerts.events import token_event
    from postbot.platforms.base import MemoryState
    from postbot.platforms.lifetime import KeptToken
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram, GOOD_TOKEN_EXPIRES_AT=(NOW + timedelta(days=2)).isoformat()))
    alerts = alerts_for(settings, store)
    fail_one(store, slug="a")
    wake(store, settings, clock)
    fail_one(store, slug="b", due=clock.advance(minutes=1))
    alerts.record([token_event("good", KeptToken(settings.channel("good"), MemoryState()), clock())], clock())
    wake(store, settings, clock)
    texts = alert_texts(telegram)
    assert [t.split("\n")[0] for t in texts] == ["postbot: a delivery failed", "postbot: a token expires soon or has expired"]


# ---- alerts never loop and never block ----------------------------------------------------------------
def test_an_alert_channel_that_fails_is_not_alerted_about(tmp_path, telegram, hooks, clock):
    store = sqlite_store(tmp_path)
    env = env_for(hooks, telegram=telegram, POSTBOT_ALERTS_DIGEST_MINUTES="0")
    env["OPS_CHAT_ID"] = "-1009999999999"                      # the bot is in no such chat: 400, failed
    settings = settings_for(env)
    fail_one(store)
    for _ in range(3):
        wake(store, settings, clock)
        clock.advance(minutes=10)
    (failed_alert,) = store.alert_deliveries((State.FAILED,))
    assert failed_alert.channel == "ops" and "chat not found" in failed_alert.error
    assert [e.kind for e in store.alert_events()] == ["failed"]  # the alert's own failure raised nothing
    shown = output.status_text(output.status_json(status(settings, store, clock(), offline=True)), settings)
    assert f"alert #{failed_alert.id} to ops failed: " in shown


def test_an_alert_channel_is_not_told_of_its_own_credentials(tmp_path, telegram, smtp, hooks, clock):
    store = sqlite_store(tmp_path)
    env = env_for(hooks, telegram=telegram, smtp=smtp)
    env["OPS_BOT_TOKEN"] = "123456789:AAHfakeTokenThatTheFakeDoesNotKnow_xyz"
    settings = settings_for(env)
    alerts = alerts_for(settings, store)
    asyncio.run(alerts.check_health(clock()))
    wake(store, settings, clock)
    subjects = {e.subject for e in store.alert_events()}
    assert "ops" in subjects                                    # noticed (and shown by status) ...
    assert alert_texts(telegram) == []                          # ... but not sent to the broken channel
    (mail,) = smtp.received
    assert "ops: the credential check failed" in mail.message.get_content()


class HangingSlack(FakeSlack):
    """A Slack webhook that holds every request until `release` is set (or 20 s pass)."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.released_in_time: list[bool] = []

    def receive(self, request):
        self.released_in_time.append(self.release.wait(timeout=20))
        return super().receive(request)


class TellingReceiver(WebhookReceiver):
    """A webhook receiver that lets `slack` answer once a post has reached it."""

    def __init__(self, slack: HangingSlack, clock: Clock):
        super().__init__(clock=lambda: clock.now.timestamp())
        self.slack = slack

    def receive(self, request):
        reply = super().receive(request)
        if reply.status == 200:
            self.slack.release.set()
        return reply


def test_an_alert_channel_that_hangs_does_not_delay_a_due_post(tmp_path):
    clock = Clock()
    with HangingSlack() as slack, TellingReceiver(slack, clock) as receiver:
        store = sqlite_store(tmp_path)
        settings = settings_for(env_for(receiver, slack=slack))
        alerts = alerts_for(settings, store)
        fail_one(store)
        run_once(store, settings, clock)
        alerts.tick(clock())                                     # a digest for `chat`, due now
        post = fail_one(store, "good", slug="due-post")          # and a post due at the same moment
        run_once(store, settings, clock)
        # Slack held the alert until the post had been published: the post did not wait behind it.
        assert slack.released_in_time == [True]
        assert store.get(post.id).state is State.PUBLISHED
        assert [m["text"].split("\n")[0] for m in slack.messages] == ["*postbot: a delivery failed*"]


class NoSlack:
    """A Slack webhook address where nothing listens: every connection is refused."""
    webhook_url = f"http://127.0.0.1:{free_port()}/services/{TEAM}/{BOT}/{SECRET}"


def test_an_alert_channel_that_is_down_is_retried_on_its_own(tmp_path, hooks, clock):
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, slack=NoSlack()))
    fail_one(store)
    wake(store, settings, clock)
    post = fail_one(store, "good", slug="due-post", due=clock())
    run_once(store, settings, clock)
    assert store.get(post.id).state is State.PUBLISHED
    (waiting,) = store.alert_deliveries((State.SCHEDULED,))
    assert waiting.channel == "chat" and "cannot connect" in waiting.error


# ---- daemons that crashed ------------------------------------------------------------------------------
def test_a_daemon_that_never_said_it_stopped_is_told_once_and_then_left_alone(tmp_path, hooks, clock):
    from postbot.store.channels import HEARTBEATS
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=FakeTelegram()))
    beat = {"at": NOW.isoformat(), "in_flight": 2}
    store.state_set(HEARTBEATS, "here:101:dead", {**beat, "running": True})        # killed
    store.state_set(HEARTBEATS, "here:102:stopped", {**beat, "running": False})    # stopped cleanly
    store.state_set(HEARTBEATS, "there:7:quiet", {**beat, "running": True})        # other host, heard recently
    store.state_set(HEARTBEATS, "here:103:old", beat)                              # from before `running` existed
    store.state_set(HEARTBEATS, "here:104:garbled", {**beat, "at": "yesterday", "running": True})   # unreadable
    # `status` reads the same heartbeats: alive unless quiet or stopped; the unreadable one is skipped.
    assert {worker: alive for worker, _, alive in daemons(settings, store, NOW)} == {
        "here:101:dead": True, "here:102:stopped": False, "there:7:quiet": True, "here:103:old": True}
    assert Alerts(settings, store, gone=lambda worker: True).notice_crashes(clock()) == []     # run --once: no look
    alerts = Alerts(settings, store, worker="here:200:new", gone=lambda worker: worker.endswith(":dead"))
    assert alerts.notice(clock.advance(seconds=10)) == []                          # failures only
    (key,) = alerts.notice_crashes(clock())
    assert key == "crash:here:101:dead"
    (event,) = store.pending_alerts()
    assert event.subject == "here:101:dead" and "did not stop cleanly" in event.message and "2 in flight" in event.message
    assert store.state_get(HEARTBEATS, "here:101:dead")["running"] is False     # not looked at again
    # The other host's daemon goes quiet for longer than two lease renewals: it crashed too.
    assert alerts.notice_crashes(clock.advance(minutes=5)) == ["crash:there:7:quiet"]
    assert Alerts(settings, store, worker="here:300:newer", gone=lambda worker: True).notice_crashes(clock()) == []


def test_run_once_checks_credentials_only_when_the_last_check_is_old_enough(tmp_path, hooks, clock):
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=FakeTelegram(), POSTBOT_ALERTS_CHECK_HOURS="6"))
    alerts = Alerts(settings, store)
    assert alerts.check_due(clock())
    asyncio.run(alerts.check_health(clock(), offline=True))
    assert not alerts.check_due(clock.advance(hours=5, minutes=59))
    assert Alerts(settings, store).check_due(clock.advance(minutes=1))


def test_a_daemon_checks_credentials_only_when_no_process_did_within_the_check_hours(tmp_path, telegram, hooks, clock):
    from postbot.daemon import Daemon
    from postbot.runner import Runner
    store = sqlite_store(tmp_path)
    settings = settings_for(env_for(hooks, telegram=telegram, POSTBOT_ALERTS_CHECK_HOURS="6"))
    asyncio.run(Alerts(settings, store).check_health(clock()))          # another process checked
    assert getme_calls(telegram) == 1
    daemon = Daemon(Runner(store, settings, clock=clock), store, alerts=alerts_for(settings, store))
    clock.advance(hours=5, minutes=59)
    asyncio.run(daemon._check_health())                                 # started since: not due yet
    assert getme_calls(telegram) == 1
    clock.advance(minutes=1)
    asyncio.run(daemon._check_health())
    assert getme_calls(telegram) == 2


# ---- tokens and credentials ---------------------------------------------------------------------------
def threads_env(expires_at) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "threads,ops=telegram", "POSTBOT_ALERTS": "ops", "THREADS_USER_ID": "25000000000001",
            "THREADS_ACCESS_TOKEN": "THQWJ-threads-token-1", "THREADS_TOKEN_EXPIRES_AT": expires_at.isoformat(),
            "OPS_BOT_TOKEN": TOKEN, "OPS_CHAT_ID": CHAT, "OPS_API_URL": "http://127.0.0.1:9"}


@pytest.mark.parametrize("days, words", [(3, "threads: the token expires in 3 day(s) (2026-12-04)"),
                                         (-1, "threads: the token expired on 2026-11-30; run `postbot connect threads --name threads`")])
def test_a_token_near_or_past_its_expiry_is_told_once_per_expiry(tmp_path, days, words):
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for(threads_env(NOW + timedelta(days=days)))
    alerts = Alerts(settings, store)
    assert len(asyncio.run(alerts.check_health(clock(), offline=True))) == 1
    clock.advance(hours=6)
    assert asyncio.run(alerts.check_health(clock(), offline=True)) == []
    (event,) = store.pending_alerts()
    assert event.kind == "token" and words in event.message


def test_a_token_alert_says_the_utc_day_and_a_fix_that_fits_a_token_not_yet_expired(tmp_path):
    store = sqlite_store(tmp_path)
    env = {**threads_env(NOW), "POSTBOT_CHANNELS": "threads,li=linkedin,ops=telegram", "LI_ACCESS_TOKEN": "AQV-li-token",
           "LI_AUTHOR": "urn:li:person:abc123", "LI_TOKEN_EXPIRES_AT": (NOW + timedelta(days=3)).isoformat(),
           # 02:00 on Dec 1 in UTC+5 is 21:00 on Nov 30 in UTC, the day postbot says everywhere
           "THREADS_TOKEN_EXPIRES_AT": "2026-12-01T02:00:00+05:00"}
    asyncio.run(Alerts(settings_for(env), store).check_health(NOW, offline=True))
    assert sorted(e.message for e in store.pending_alerts()) == [
        "li: the token expires in 3 day(s) (2026-12-04); run `postbot connect linkedin --name li` "
        "(or create a new token and set LI_ACCESS_TOKEN and LI_TOKEN_EXPIRES_AT)",
        "threads: the token expired on 2026-11-30; run `postbot connect threads --name threads` (or create a "
        "new long-lived Threads token, set THREADS_ACCESS_TOKEN and THREADS_TOKEN_EXPIRES_AT (its expiry), "
        "then run `postbot status`)"]


def test_a_token_with_weeks_left_is_not_told(tmp_path):
    store = sqlite_store(tmp_path)
    settings = settings_for(threads_env(NOW + timedelta(days=30)))
    assert asyncio.run(Alerts(settings, store).check_health(NOW, offline=True)) == []


def test_a_failing_credential_check_is_told_once_per_spell(tmp_path, telegram):
    store, clock = sqlite_store(tmp_path), Clock()
    good = {"POSTBOT_CHANNELS": "tg=telegram,ops=outbox", "POSTBOT_ALERTS": "ops", **telegram_settings(telegram, "tg"),
            "OPS_DIR": str(tmp_path / "alerts"), "OPS_RENDER_AS": "telegram"}
    bad = {**good, "TG_BOT_TOKEN": "123456789:AAHfakeTokenThatTheFakeDoesNotKnow_xyz"}

    def check(env) -> list[str]:
        return asyncio.run(Alerts(settings_for(env), store).check_health(clock.advance(hours=6)))

    assert len(check(bad)) == 1
    assert check(bad) == []                                  # still failing: the same spell
    assert check(good) == []                                 # fixed: the spell ends
    assert len(check(bad)) == 1                              # broken again: told again
    messages = [e.message for e in store.alert_events()]
    assert all(m.startswith("tg: the credential check failed: ") for m in messages) and len(messages) == 2
    assert TOKEN not in " ".join(messages) and "AAHfakeTokenThatTheFakeDoesNotKnow" not in " ".join(messages)


# ---- settings --------------------------------------------------------------------------------------------
def test_posts_go_to_every_channel_but_the_alert_channels(hooks):
    settings = settings_for(env_for(hooks, telegram=FakeTelegram()))
    assert [c.name for c in select_channels(settings, None)] == ["hooks", "good"]
    assert [c.name for c in select_channels(settings, ["ops"])] == ["ops"]      # named: allowed


@pytest.mark.parametrize("change, words", [
    ({"MAIL_SMTP_PORT": "submission"}, "MAIL_SMTP_PORT='submission' is not a port number"),
    ({"MAIL_TO": "ops at example"}, "MAIL_TO='ops at example': 'ops' is not an email address"),
    ({"MAIL_TO": "ops@example.com, nobody"}, "MAIL_TO='ops@example.com, nobody': 'nobody' is not an email address"),
    ({"MAIL_FROM": "a@example.com, b@example.com"}, "MAIL_FROM='a@example.com, b@example.com' names 2 addresses; give one"),
    ({"MAIL_SMTP_PASSWORD": ""}, "set both MAIL_SMTP_USER and MAIL_SMTP_PASSWORD, or neither"),
    ({"MAIL_SMTP_HOST": ""}, "set MAIL_SMTP_HOST"),
    ({"MAIL_SMTP_CA_FILE": "/nonexistent/ca.pem"}, "MAIL_SMTP_CA_FILE='/nonexistent/ca.pem' is not a file"),
])
def test_an_alert_email_channel_with_a_bad_setting_stops_publishing_naming_it(tmp_path, smtp, change, words):
    env = {"POSTBOT_CHANNELS": "mail=email", "POSTBOT_ALERTS": "mail", **smtp.settings(), **change}
    with pytest.raises(ConfigError) as raised:
        alerts_for(settings_for(env), sqlite_store(tmp_path))
    assert str(raised.value).startswith("POSTBOT_ALERTS: channel mail cannot send alerts: ")
    assert words in str(raised.value)


def test_alert_text_passes_the_secret_filter(tmp_path):
    from postbot.alerts.events import credentials_event
    from postbot.redact import remember
    remember([("OPS_BOT_TOKEN", "654321:secret-token-in-an-error-message")])
    store = sqlite_store(tmp_path)
    store.add_alert_events([credentials_event("ops", "answered 401 for /bot654321:secret-token-in-an-error-message/getMe",
                                              NOW, NOW)])
    (event,) = store.alert_events()
    assert "secret-token" not in event.message and "***" in event.message


# ---- through the command line ------------------------------------------------------------------------
def test_run_once_tells_what_failed_in_the_same_run_and_status_shows_it(tmp_path, telegram, hooks):
    from datetime import datetime, timezone

    from tests.process import postbot
    env = {**env_for(hooks, telegram=telegram), "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'postbot.db'}"}
    store = sqlite_store(tmp_path)
    delivery = fail_one(store, due=datetime.now(timezone.utc))
    result = postbot(["run", "--once"], env, tmp_path)
    assert result.returncode == 1, result.stderr                # a delivery failed: see status
    (text,) = alert_texts(telegram)
    assert f"#{delivery.id} hooks (post)" in text
    assert postbot(["run", "--once"], env, tmp_path).returncode == 0 and len(alert_texts(telegram)) == 1
    assert getme_calls(telegram) == 1                   # the second run found the first one's check recent
    shown = postbot(["status", "--offline"], env, tmp_path).stdout
    assert "alerts: to ops" in shown


def test_run_refuses_to_start_when_an_alert_channel_cannot_send(tmp_path, smtp):
    from tests.process import postbot
    env = {"POSTBOT_CHANNELS": "x=outbox,mail=email", "POSTBOT_ALERTS": "mail", **smtp.settings(),
           "MAIL_SMTP_PORT": "smtp", "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'postbot.db'}"}
    for args in (["run", "--once"], ["run"]):
        result = postbot(args, env, tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip() == ("postbot: error: POSTBOT_ALERTS: channel mail cannot send alerts: "
                                         "MAIL_SMTP_PORT='smtp' is not a port number; e.g. 587 (STARTTLS submission)")
