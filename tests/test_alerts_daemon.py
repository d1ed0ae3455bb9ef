"""Alerts from the real daemon, run as a child process: a failing channel is told exactly once to a
Telegram fake and once by email, also after the daemon is killed with SIGKILL and started again; that
restart is itself told once ("restarted after a crash"), a clean restart is not."""
from __future__ import annotations

import signal
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest

from postbot.models import Part, State
from postbot.store import open_store
from postbot.store.channels import HEARTBEATS
from tests.fakes.smtp import FakeSMTP
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.fakes.webhook import WebhookReceiver
from tests.process import start_daemon, wait_for

UTC = timezone.utc
CHAT = "-1001234567890"


@pytest.fixture
def world(tmp_path):
    """A database, the fakes and the environment of a daemon whose `hooks` channel always fails."""
    db = tmp_path / "alerts.db"
    store = open_store(f"sqlite:///{db}")
    store.migrate()
    with FakeTelegram() as telegram, FakeSMTP(tmp_path) as smtp, WebhookReceiver() as hooks:
        env = {"POSTBOT_DATABASE_URL": f"sqlite:///{db}", "POSTBOT_TIMEZONE": "UTC",
               "POSTBOT_CHANNELS": "hooks=webhook,ops=telegram,mail=email", "POSTBOT_ALERTS": "ops,mail",
               # Every event is told at once, so the test sees each digest as soon as it is due.
               "POSTBOT_ALERTS_DIGEST_MINUTES": "0",
               "HOOKS_URL": hooks.hook_url, "HOOKS_SECRET": "not-the-receivers-secret",
               "OPS_BOT_TOKEN": TOKEN, "OPS_CHAT_ID": CHAT, "OPS_API_URL": telegram.url, **smtp.settings()}
        yield store, telegram, smtp, env, tmp_path


def fail_one(store, slug: str):
    now = datetime.now(UTC)
    return store.add_post(slug=slug, title=slug, source=f"{slug}.md", snapshot={"slug": slug, "title": slug},
                          deliveries=[{"channel": "hooks", "platform": "generic", "due_at": now,
                                       "parts": [Part("hi", 2, {"text": "hi"})],
                                       "idempotency_key": uuid.uuid4().hex}], now=now)[0]


def titles(telegram, smtp) -> tuple[list[str], list[str]]:
    return ([sent.visible.split("\n")[0] for sent in telegram.sent],
            [mail.message["Subject"].removeprefix("[postbot] ") for mail in smtp.received])


def crash_marked(store) -> bool:
    """A daemon recorded another's crash: that one's heartbeat no longer says `running`."""
    return any(beat.get("crash_noticed_by") and beat.get("running") is False
               for beat in store.state_items(HEARTBEATS).values())


def started(log, times: int) -> bool:
    return log.exists() and log.read_text().count(" started") >= times


@contextmanager
def daemons(env, folder):
    """start(): a daemon logging to daemon.log, killed at the end if a test left it running."""
    started_ = []

    def start():
        started_.append(start_daemon(env, folder, folder / "daemon.log"))
        return started_[-1]
    try:
        yield start
    finally:
        for daemon in started_:
            if daemon.poll() is None:
                daemon.kill()


def stop(daemon) -> None:
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0


def told(telegram, smtp, count: int, log) -> None:
    assert wait_for(lambda: len(telegram.sent) == count and len(smtp.received) == count, timeout=30), log.read_text()


def test_a_failure_is_told_once_across_a_kill_9_restart_which_is_told_once_too(world):
    store, telegram, smtp, env, folder = world
    log = folder / "daemon.log"
    delivery = fail_one(store, "first")
    with daemons(env, folder) as start:
        daemon = start()
        told(telegram, smtp, 1, log)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)
        daemon = start()
        # The new daemon finds the killed one's heartbeat still saying `running`: one crash alert to each.
        told(telegram, smtp, 2, log)
        # Done with the crash: the killed daemon's heartbeat marked, the digests recorded as published
        # (each waking the daemon again); nothing more is told, up to and through a clean stop.
        assert wait_for(lambda: crash_marked(store) and len(store.alert_deliveries((State.PUBLISHED,))) == 4,
                        timeout=30), log.read_text()
        assert len(telegram.sent) == len(smtp.received) == 2
        stop(daemon)
    sent, mailed = titles(telegram, smtp)
    assert sent == mailed == ["postbot: a delivery failed", "postbot: restarted after a crash"]
    assert f"#{delivery.id} hooks (first)" in telegram.sent[0].visible
    assert "did not stop cleanly" in telegram.sent[1].visible
    assert TOKEN not in " ".join(s.visible for s in telegram.sent)
    assert smtp.password not in " ".join(m.message.get_content() for m in smtp.received)


def test_a_clean_restart_is_not_told(world):
    store, telegram, smtp, env, folder = world
    log = folder / "daemon.log"
    with daemons(env, folder) as start:
        daemon = start()
        assert wait_for(lambda: started(log, 1), timeout=20)
        stop(daemon)
        daemon = start()
        assert wait_for(lambda: started(log, 2), timeout=20)
        # A failure after the restart is told: proof that the new daemon looked, and found no crash.
        fail_one(store, "after-restart")
        told(telegram, smtp, 1, log)
        stop(daemon)
    assert titles(telegram, smtp) == (["postbot: a delivery failed"], ["postbot: a delivery failed"])


def test_the_daemon_checks_credentials_when_it_starts(world):
    store, telegram, smtp, env, folder = world
    env = {**env, "POSTBOT_CHANNELS": env["POSTBOT_CHANNELS"] + ",tg=telegram", "TG_CHAT_ID": CHAT,
           "TG_BOT_TOKEN": "123456789:AAHfakeTokenThatTheFakeDoesNotKnow_xyz", "TG_API_URL": telegram.url}
    with daemons(env, folder) as start:
        daemon = start()
        told(telegram, smtp, 1, folder / "daemon.log")
        stop(daemon)
    assert titles(telegram, smtp) == (["postbot: a credential check failed"], ["postbot: a credential check failed"])
    assert "tg: the credential check failed: " in smtp.received[0].message.get_content()
    assert "AAHfakeTokenThatTheFakeDoesNotKnow" not in smtp.received[0].message.get_content()
