"""Kill -9 the real daemon at random moments while it publishes, restart it, and count."""
from __future__ import annotations

import random
import signal
import uuid
from datetime import datetime, timezone


from postbot.models import Part, State
from postbot.store import open_store
from tests.fakes.webhook import WebhookReceiver
from tests.process import start_daemon, wait_for

UTC = timezone.utc
CHANNELS = [f"c{i}" for i in range(20)]
DELIVERIES = 240


def queue_many(store, now):
    for index in range(DELIVERIES):
        channel = CHANNELS[index % len(CHANNELS)]
        text = f"post number {index}"
        store.add_post(slug=f"p{index}", title=f"P{index}", source="gen", snapshot={"slug": f"p{index}"},
                       deliveries=[{"channel": channel, "platform": "generic", "due_at": now,
                                    "parts": [Part(text, len(text), {"text": text})],
                                    "idempotency_key": uuid.uuid4().hex}], now=now)


def crash_env(db, url, idempotent: bool) -> dict[str, str]:
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{db}", "POSTBOT_TIMEZONE": "UTC",
           "POSTBOT_CHANNELS": ",".join(f"{c}=webhook" for c in CHANNELS),
           "POSTBOT_LEASE_SECONDS": "30", "POSTBOT_CONCURRENCY": "8"}
    for channel in CHANNELS:
        env[f"{channel.upper()}_URL"] = url
        env[f"{channel.upper()}_SECRET"] = "s3cret-value"
        env[f"{channel.upper()}_IDEMPOTENT"] = "on" if idempotent else "off"
    return env


def crash_repeatedly(tmp_path, idempotent: bool, seed: int):
    rng = random.Random(seed)
    db = tmp_path / "crash.db"
    store = open_store(f"sqlite:///{db}")
    store.migrate()
    queue_many(store, datetime.now(UTC))
    receiver = WebhookReceiver()
    receiver.start()
    receiver.delay = 0.01
    env = crash_env(db, receiver.hook_url, idempotent)
    kills = 0
    try:
        for _ in range(6):
            daemon = start_daemon(env, tmp_path, tmp_path / "daemon.log")
            published_before = store.counts().get("published", 0)
            # Kill once it is busy publishing, at a random moment.
            wait_for(lambda: store.counts().get("published", 0) > published_before, timeout=20)
            wait_for(lambda: False, timeout=rng.uniform(0.0, 0.4))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
            kills += 1
        log = tmp_path / "daemon.log"
        starts = log.read_text().count(" started") if log.exists() else 0
        daemon = start_daemon(env, tmp_path, log)
        assert wait_for(lambda: log.read_text().count(" started") > starts, timeout=20)
        settled = wait_for(lambda: not ({"scheduled", "publishing"} & set(store.counts())), timeout=90)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        assert settled, f"deliveries left unfinished: {store.counts()}"
    finally:
        receiver.stop()
    return store, receiver, kills


def test_kill_9_with_an_idempotent_endpoint_publishes_everything_exactly_once(tmp_path):
    store, receiver, kills = crash_repeatedly(tmp_path, idempotent=True, seed=7)
    deliveries = store.list(limit=10_000)
    assert kills == 6
    assert {d.state for d in deliveries} == {State.PUBLISHED}
    assert sorted(receiver.stored) == sorted(d.idempotency_key for d in deliveries)
    texts = [doc["text"] for doc in receiver.stored.values()]
    assert len(texts) == len(set(texts)) == DELIVERIES


def test_kill_9_with_a_non_idempotent_endpoint_never_sends_twice(tmp_path):
    store, receiver, kills = crash_repeatedly(tmp_path, idempotent=False, seed=11)
    deliveries = store.list(limit=10_000)
    assert {d.state for d in deliveries} <= {State.PUBLISHED, State.UNKNOWN}
    assert max(receiver.keys_seen.values()) == 1             # nothing was ever sent twice
    for delivery in deliveries:
        seen = receiver.keys_seen[delivery.idempotency_key]
        if delivery.state is State.PUBLISHED:
            assert seen == 1
        else:
            assert "may or may not have been published" in delivery.error
    unknown = [d for d in deliveries if d.state is State.UNKNOWN]
    # Each kill can leave at most the deliveries in flight at that moment uncertain.
    assert len(unknown) <= kills * 8
