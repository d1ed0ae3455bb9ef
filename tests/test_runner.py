"""The runner's outcome rules, against a real HTTP endpoint and a hand-moved clock."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from postbot.models import Part, State
from tests.fakes.server import Reply
from tests.fakes.webhook import WebhookReceiver
from tests.helpers import DEAD_WORKER, NOW, Clock, add_delivery, part, run_once, settings_for, sqlite_store


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def receiver(clock):
    """The careful receiver, checking signature timestamps against the runner's hand-moved clock."""
    with WebhookReceiver(clock=lambda: clock.now.timestamp()) as server:
        yield server


def env_for(url: str, channels=("hooks",), **extra) -> dict[str, str]:
    env = {"POSTBOT_CHANNELS": ",".join(f"{c}=webhook" for c in channels), "POSTBOT_MAX_ATTEMPTS": "3"}
    for c in channels:
        env[f"{c.upper()}_URL"] = url
        env[f"{c.upper()}_SECRET"] = "s3cret-value"
    env.update(extra)
    return env


def add(store, channel="hooks", due=NOW, text="hello world", slug="post"):
    return add_delivery(store, channel, [part(text, {"text": text})], platform="generic", slug=slug, due=due)


def test_publishes_a_signed_document_with_the_delivery_key(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store)
    assert run_once(store, settings_for(env_for(receiver.hook_url)), clock) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED
    assert done.remote_url == f"https://hooks.example/msg/{delivery.idempotency_key[:8]}"
    document = receiver.stored[delivery.idempotency_key]
    assert document["text"] == "hello world" and document["channel"] == "hooks"
    assert document["post"] == {"slug": "post", "title": "T", "url": None}
    assert document["due_at"] == "2026-12-01T09:00:00Z"
    assert [a.outcome for a in store.attempts(delivery.id)] == ["published"]


def test_not_yet_due_is_left_alone(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store, due=NOW + timedelta(minutes=5))
    assert run_once(store, settings_for(env_for(receiver.hook_url)), clock) == 0
    assert store.get(delivery.id).state is State.SCHEDULED
    assert store.next_run_at(NOW) == NOW + timedelta(minutes=5)


def test_refused_connection_is_retried_with_backoff(tmp_path):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store)
    run_once(store, settings_for(env_for("http://127.0.0.1:9/hook")), clock)
    again = store.get(delivery.id)
    assert again.state is State.SCHEDULED
    assert again.next_attempt_at == NOW + timedelta(seconds=30)
    assert "cannot connect" in again.error


def test_5xx_is_retried_with_the_same_key_and_stored_once(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store)
    settings = settings_for(env_for(receiver.hook_url))
    receiver.script = [Reply(503, {"error": "busy"})]
    run_once(store, settings, clock)
    assert store.get(delivery.id).state is State.SCHEDULED
    clock.advance(seconds=29)
    assert run_once(store, settings, clock) == 0          # backoff not over yet
    clock.advance(seconds=1)
    assert run_once(store, settings, clock) == 1
    assert receiver.keys_seen[delivery.idempotency_key] == 2
    assert list(receiver.stored) == [delivery.idempotency_key]
    assert [a.outcome for a in store.attempts(delivery.id)] == ["retry", "published"]


def test_gives_up_after_max_attempts(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store)
    settings = settings_for(env_for(receiver.hook_url))
    receiver.script = [Reply(502, "bad gateway")] * 3
    for _ in range(3):
        run_once(store, settings, clock)
        clock.advance(hours=1)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED
    assert failed.error.startswith("gave up after 3 attempts")


def test_429_waits_exactly_for_retry_after_and_holds_the_channel(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    first = add(store)
    second = add(store, due=NOW + timedelta(seconds=10))
    settings = settings_for(env_for(receiver.hook_url))
    receiver.script = [Reply(429, {"error": "slow down"}, {"Retry-After": "120"})]
    run_once(store, settings, clock)
    held = store.get(first.id)
    assert held.state is State.SCHEDULED and held.next_attempt_at == NOW + timedelta(seconds=120)
    assert held.attempts == 0                               # waiting is not a failed attempt
    assert store.holds(clock())["hooks"][0] == NOW + timedelta(seconds=120)
    clock.advance(seconds=119)
    assert run_once(store, settings, clock) == 0            # the second one is held too
    assert store.get(second.id).state is State.SCHEDULED
    clock.advance(seconds=1)
    assert run_once(store, settings, clock) == 2
    order = [json.loads(r.body)["text"] for r in receiver.requests]
    assert order == ["hello world"] * 3


def test_4xx_fails_at_once_with_the_platform_message(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store)
    receiver.script = [Reply(400, {"error": "text must not mention pizza"})]
    run_once(store, settings_for(env_for(receiver.hook_url)), clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED
    assert "400" in failed.error and "text must not mention pizza" in failed.error


def test_missed_posts_fail_past_the_grace_window_and_can_be_retried(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    late = add(store, due=NOW - timedelta(hours=2))
    recent = add(store, channel="other", due=NOW - timedelta(minutes=5))
    settings = settings_for(env_for(receiver.hook_url, channels=("hooks", "other")))
    run_once(store, settings, clock)
    missed = store.get(late.id)
    assert missed.state is State.FAILED and missed.error.startswith("missed its time by 2h")
    assert store.get(recent.id).state is State.PUBLISHED
    store.retry(late.id, clock())
    assert run_once(store, settings, clock) == 1
    assert store.get(late.id).state is State.PUBLISHED


def test_stale_claim_of_a_dead_daemon_is_resent_with_the_same_key(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store)
    store.claim_due(NOW, worker=DEAD_WORKER, lease_seconds=60)
    settings = settings_for(env_for(receiver.hook_url))
    assert run_once(store, settings, clock) == 0            # lease still held by the other daemon
    clock.advance(seconds=61)
    assert run_once(store, settings, clock) == 1
    assert receiver.keys_seen[delivery.idempotency_key] == 1


def test_one_channel_publishes_in_due_order(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    for index in range(5):
        add(store, due=NOW - timedelta(seconds=5 - index), text=f"message {index}")
    run_once(store, settings_for(env_for(receiver.hook_url)), clock)
    assert [json.loads(r.body)["text"] for r in receiver.requests] == [f"message {i}" for i in range(5)]


def test_channel_removed_from_settings_fails_with_a_fix(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store, channel="gone")
    run_once(store, settings_for(env_for(receiver.hook_url)), clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and "no longer configured" in failed.error


# ---- the error path: what was not sent is never reported as an internal error ---------------------------------
def test_a_setting_removed_after_queueing_fails_naming_it_and_nothing_is_sent(tmp_path, receiver, clock):
    store = sqlite_store(tmp_path)
    delivery = add(store)
    env = env_for(receiver.hook_url)
    del env["HOOKS_SECRET"]
    run_once(store, settings_for(env), clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED, (failed.state, failed.error)
    assert "HOOKS_SECRET" in failed.error and f"postbot retry {delivery.id}" in failed.error
    assert "internal error" not in failed.error
    assert receiver.requests == []
    assert [a.outcome for a in store.attempts(delivery.id)] == ["failed"]
    store.retry(delivery.id, clock())                       # the fix, then a retry, publishes it once
    assert run_once(store, settings_for(env_for(receiver.hook_url)), clock) == 1
    assert receiver.keys_seen[delivery.idempotency_key] == 1


def test_a_setting_missing_mid_thread_keeps_the_published_parts(tmp_path, receiver, clock):
    """Part 1 goes out; the setting is gone before part 2: failed, and a retry sends only part 2."""
    store = sqlite_store(tmp_path)
    delivery = add_delivery(store, "hooks", [part("one", {"text": "one"}), part("two", {"text": "two"})],
                            platform="generic")
    env = env_for(receiver.hook_url)
    store.claim_due(NOW, worker=DEAD_WORKER, lease_seconds=60)     # a daemon died after part 1
    assert store.save_progress(delivery.id, worker=DEAD_WORKER,
                               progress={"done": [{"remote_id": "r1", "remote_url": None}]})
    clock.advance(seconds=61)
    del env["HOOKS_URL"]
    run_once(store, settings_for(env), clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and "HOOKS_URL" in failed.error
    assert "1 part(s) already published" in failed.error
    store.retry(delivery.id, clock())
    assert run_once(store, settings_for(env_for(receiver.hook_url)), clock) == 1
    assert [json.loads(r.body)["text"] for r in receiver.requests] == ["two"]
    assert store.get(delivery.id).remote_id == "r1"


def test_a_429_is_reported_as_not_sent(tmp_path, receiver, clock):
    from postbot.errors import RateLimited
    from postbot.platforms import make_sender
    from tests.helpers import publish as publish_through
    receiver.script = [Reply(429, {"error": "slow down"}, {"Retry-After": "60"})]
    channel = settings_for(env_for(receiver.hook_url)).channel("hooks")
    with pytest.raises(RateLimited) as caught:
        publish_through(make_sender(channel), {"text": "hi"}, part=Part("hi", 2, {"text": "hi"}))
    assert caught.value.sent is False                   # the platform said "not now": it took nothing
    assert caught.value.until == NOW + timedelta(seconds=60)


def test_each_delivery_in_flight_has_its_own_client_and_clients_are_reused(tmp_path, receiver):
    """One client (of one connection) per delivery in flight, given back when it ends: never two
    requests at once through one client, no more clients than POSTBOT_CONCURRENCY however many
    deliveries go out, and each closed at the end."""
    import httpx
    store, clock = sqlite_store(tmp_path), Clock()
    channels = [f"h{n}" for n in range(9)]
    for n, channel in enumerate(channels):
        add(store, channel=channel, slug=f"post-{n}")
    receiver.delay = 0.05                   # answers slowly enough for deliveries to overlap
    made: list[httpx.AsyncClient] = []
    open_now: dict[int, int] = {}
    most_open = {"per_client": 0, "in_all": 0}

    def factory(kind: str) -> httpx.AsyncClient:
        assert kind == "webhook"
        number = len(made)
        open_now[number] = 0

        async def sent(_request) -> None:
            open_now[number] += 1
            most_open["per_client"] = max(most_open["per_client"], open_now[number])
            most_open["in_all"] = max(most_open["in_all"], sum(open_now.values()))

        async def answered(_response) -> None:
            open_now[number] -= 1

        made.append(httpx.AsyncClient(event_hooks={"request": [sent], "response": [answered]}))
        return made[-1]

    settings = settings_for(env_for(receiver.hook_url, channels=channels, POSTBOT_CONCURRENCY="3"))
    assert run_once(store, settings, clock, client_factory=factory) == 9
    assert len(receiver.stored) == 9
    assert most_open == {"per_client": 1, "in_all": 3}
    assert len(made) == 3
    assert all(client.is_closed for client in made)
