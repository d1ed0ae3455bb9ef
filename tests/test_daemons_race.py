"""Several real daemons on one queue (one SQLite file, or one PostgreSQL database) publish every
delivery exactly once: no delivery is sent twice, none is lost, and no channel ever has two
requests in flight at the same time."""
from __future__ import annotations

import json
import signal
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

import pytest

from postbot.models import Part, State
from postbot.store import open_store
from tests.fakes.server import Reply, Request
from tests.fakes.webhook import WebhookReceiver
from tests.process import start_daemon, wait_for

UTC = timezone.utc
CHANNELS = [f"w{i}" for i in range(1, 9)]
DELIVERIES = 160
DAEMONS = 3
SECRET = "race-secret-value"


class CountingReceiver(WebhookReceiver):
    """The careful receiver, also noting how many requests each channel has open at once."""

    def __init__(self, answer_after: float) -> None:
        super().__init__(secret=SECRET)
        self.answer_after = answer_after
        self.open_now: Counter[str] = Counter()
        self.most_open: Counter[str] = Counter()

    def receive(self, request: Request) -> Reply:
        channel = json.loads(request.body).get("channel", "?")
        with self.lock:
            self.open_now[channel] += 1
            self.most_open[channel] = max(self.most_open[channel], self.open_now[channel])
        try:
            time.sleep(self.answer_after)       # a platform's response time, so claims overlap
            return super().receive(request)
        finally:
            with self.lock:
                self.open_now[channel] -= 1


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    return request.getfixturevalue("fresh_postgres_url")  # from tests/services.py


def daemon_env(database_url: str, hook_url: str) -> dict[str, str]:
    env = {"POSTBOT_DATABASE_URL": database_url, "POSTBOT_TIMEZONE": "UTC",
           "POSTBOT_CHANNELS": ",".join(f"{name}=webhook" for name in CHANNELS),
           "POSTBOT_LEASE_SECONDS": "30",
           # Few slots per daemon, more channels than slots: every daemon must find work.
           "POSTBOT_CONCURRENCY": "2"}
    for name in CHANNELS:
        env[f"{name.upper()}_URL"] = hook_url
        env[f"{name.upper()}_SECRET"] = SECRET
    return env


def queue_deliveries(store) -> list[str]:
    keys = []
    for index in range(DELIVERIES):
        now = datetime.now(UTC)
        text = f"race post {index}"
        key = uuid.uuid4().hex
        store.add_post(slug=f"race-{index}", title=f"Race {index}", source=f"race-{index}.md",
                       snapshot={"slug": f"race-{index}", "title": f"Race {index}"},
                       deliveries=[{"channel": CHANNELS[index % len(CHANNELS)], "platform": "generic",
                                    "due_at": now, "parts": [Part(text, len(text), {"text": text})],
                                    "idempotency_key": key}], now=now)
        keys.append(key)
    return keys


def test_several_daemons_publish_every_delivery_exactly_once(database_url, tmp_path):
    store = open_store(database_url)
    store.migrate()
    receiver = CountingReceiver(answer_after=0.02).start()
    logs = [tmp_path / f"daemon{n}.log" for n in range(DAEMONS)]
    daemons = [start_daemon(daemon_env(database_url, receiver.hook_url), tmp_path, log) for log in logs]

    def log_text(n: int) -> str:
        return logs[n].read_text(encoding="utf-8", errors="replace") if logs[n].exists() else ""

    def diagnostics() -> str:
        return "\n".join(f"--- daemon {n} ---\n{log_text(n)[-3000:]}" for n in range(DAEMONS))

    try:
        # All daemons are idle and watching before the work arrives, so they all race for it.
        assert wait_for(lambda: all("started" in log_text(n) for n in range(DAEMONS)), timeout=30), diagnostics()
        keys = queue_deliveries(store)
        finished = wait_for(lambda: store.counts() == {"published": DELIVERIES}, timeout=60, interval=0.2)
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        codes = [daemon.wait(timeout=30) for daemon in daemons]
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        receiver.stop()
    assert finished, f"queue left as {store.counts()}\n{diagnostics()}"
    assert codes == [0] * DAEMONS, diagnostics()

    deliveries = store.list(limit=10_000)
    assert len(deliveries) == DELIVERIES
    assert {d.state for d in deliveries} == {State.PUBLISHED}
    assert {d.attempts for d in deliveries} == {1}
    assert sorted(d.idempotency_key for d in deliveries) == sorted(keys)
    # Not merely deduplicated by the receiver: no key was ever sent twice.
    assert receiver.keys_seen == Counter({key: 1 for key in keys})
    assert sorted(receiver.stored) == sorted(keys)
    assert set(receiver.most_open) == set(CHANNELS) and max(receiver.most_open.values()) == 1
    for delivery in deliveries[:20]:
        assert [a.outcome for a in store.attempts(delivery.id)] == ["published"]
    # Each daemon did part of the work, and together exactly all of it.
    per_daemon = [log_text(n).count(" published to ") for n in range(DAEMONS)]
    assert sum(per_daemon) == DELIVERIES and min(per_daemon) > 0, per_daemon
    store.close()
