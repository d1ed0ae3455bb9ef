"""The real daemon process: wakes at due times, notices other writers, stops cleanly."""
from __future__ import annotations

import signal
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from postbot.models import Part, State
from postbot.store import open_store
from tests.fakes.webhook import WebhookReceiver
from tests.process import postbot, start_daemon, wait_for

UTC = timezone.utc


@pytest.fixture
def setup(tmp_path):
    db = tmp_path / "d.db"
    setup_env.clear()
    store = open_store(f"sqlite:///{db}")
    store.migrate()
    receiver = WebhookReceiver().start()
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{db}", "POSTBOT_TIMEZONE": "UTC",
           "POSTBOT_CHANNELS": "hooks=webhook", "HOOKS_URL": receiver.hook_url, "HOOKS_SECRET": "s3cret-value"}
    setup_env.update(env)
    log = tmp_path / "daemon.log"
    daemon = start_daemon(env, tmp_path, log)
    assert wait_for(lambda: log.exists() and " started" in log.read_text(), timeout=20)
    yield store, receiver, daemon, log
    if daemon.poll() is None:
        daemon.kill()
    receiver.stop()


setup_env: dict[str, str] = {}


def add(store, due):
    return store.add_post(slug="s", title="T", source="t", snapshot={"slug": "s"}, deliveries=[{
        "channel": "hooks", "platform": "generic", "due_at": due,
        "parts": [Part("hi", 2, {"text": "hi"})],
        "idempotency_key": uuid.uuid4().hex}], now=due)[0]


def test_notices_a_post_queued_by_another_process_and_sends_it_at_its_time(setup):
    store, receiver, daemon, _ = setup
    due = datetime.now(UTC) + timedelta(seconds=2)
    delivery = add(store, due)
    assert wait_for(lambda: store.get(delivery.id).state is State.PUBLISHED, timeout=15)
    sent_at = store.attempts(delivery.id)[-1].at
    assert timedelta(0) <= sent_at - due.replace(microsecond=due.microsecond // 1000 * 1000) < timedelta(seconds=1)


def test_sigterm_finishes_what_is_in_flight_and_exits_0(setup):
    store, receiver, daemon, log = setup
    receiver.delay = 1.5
    delivery = add(store, datetime.now(UTC))
    assert wait_for(lambda: receiver.keys_seen, timeout=15)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=20) == 0
    assert store.get(delivery.id).state is State.PUBLISHED
    assert "daemon stopped" in log.read_text()


def test_status_says_a_daemon_is_running_from_its_heartbeat_and_none_once_it_is_gone(setup, tmp_path):
    import json
    store, receiver, daemon, _ = setup
    answer = postbot(["status", "--json", "--offline"], setup_env, tmp_path)
    [entry] = json.loads(answer.stdout)["daemons"]
    assert entry["alive"] is True and entry["worker"]
    text = postbot(["status", "--offline"], setup_env, tmp_path).stdout
    assert f"daemon: {entry['worker']} running" in text
    open_store(f"sqlite:///{tmp_path / 'empty.db'}").migrate()      # a database no daemon works on
    other = {**setup_env, "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    assert "daemon: none running" in postbot(["status", "--offline"], other, tmp_path).stdout
