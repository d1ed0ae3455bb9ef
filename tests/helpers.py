"""Small builders shared by tests: settings from a dict, a migrated store, a post file, a hand-moved
clock, and the steps every adapter's tests take: publish through an httpx client, queue the seed,
run the runner once, leave a crashed daemon's claim behind."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from postbot.config import load_settings
from postbot.models import Part
from postbot.store import open_store

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# The fakes serve images and pages on 127.0.0.1, which postbot refuses to fetch by default (SSRF):
# tests that fetch from them opt in, as a user with a media server on their own network would.
LOOPBACK_FETCH = {"POSTBOT_FETCH_ALLOW_NETWORKS": "127.0.0.1/32"}


def loopback_policy():
    from postbot.remote_fetch import FetchPolicy
    return FetchPolicy(("127.0.0.1/32",))


def settings_for(env: dict[str, str]):
    base = {"POSTBOT_TIMEZONE": "UTC"}
    base.update(env)
    return load_settings(base)


def sqlite_store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'postbot.db'}")
    store.migrate()
    return store


def write_post(tmp_path: Path, body: str = "A first sentence. A second one follows here.", **front) -> Path:
    lines = ["---"]
    for key, value in front.items():
        lines.append(f"{key}: {json.dumps(value)}")
    lines.append("---")
    path = tmp_path / "post.md"
    path.write_text("\n".join(lines) + "\n" + body + "\n" if front else body + "\n", encoding="utf-8")
    return path


class Clock:
    """A hand-moved clock for the runner."""

    def __init__(self, start: datetime = NOW):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    async def sleep(self, seconds: float) -> None:
        """The runner's injected sleep in tests: the clock moves on, nothing waits."""
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


async def no_wait(seconds: float) -> None:
    """An adapter test's sleep: returns at once (the fake decides readiness by polls, not time)."""


# ---- publishing straight through an adapter ------------------------------------------------------
def with_client(use, timeout: float = 5.0):
    """`await use(client)` with a fresh httpx client, from synchronous test code (5 s is httpx's default)."""
    async def go():
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await use(client)
    return asyncio.run(go())


def publish_context(client, progress: dict | None = None, *, key: str = "key-1", state=None, save_progress=None,
                    **options):
    """A PublishContext at NOW whose saved progress lands in `progress` unless `save_progress` says otherwise."""
    from postbot.platforms.base import MemoryState, PublishContext
    progress = {} if progress is None else progress
    options.setdefault("sleep", no_wait)
    return PublishContext(client=client, key=key, now=lambda: NOW, state=state or MemoryState(),
                          save_progress=save_progress or progress.update, progress=progress, **options)


def call_adapter(publisher, method: str, payload: dict, progress: dict | None = None, *, timeout: float = 5.0,
                 **context_options):
    """`publisher.publish` or `publisher.recover` with a fresh client and a publish_context()."""
    return with_client(lambda client: getattr(publisher, method)(
        payload, publish_context(client, progress, **context_options)), timeout)


def publish(publisher, payload: dict, progress: dict | None = None, **options):
    return call_adapter(publisher, "publish", payload, progress, **options)


def check(publisher, **options) -> str:
    return with_client(lambda client: publisher.check(client, **options))


# ---- the real pipeline: seed, queue, run, crash ----------------------------------------------------
def seed_path() -> Path:
    from tests.services import shared_dir
    return shared_dir() / "seeds" / "hip-thrust-post.txt"


def seed_post(repair: bool = False):
    from postbot.posts import load_post
    return load_post(seed_path(), repair=repair)


def queue_post(post, store, settings, now: datetime = NOW):
    """Plan `post` for the one configured channel and queue it; returns the delivery and its render."""
    from postbot.app import add_planned, plan
    planned = plan(post, list(settings.channels), settings, at="now", now=now, store=store)
    (delivery,) = add_planned(post, planned, store, now)
    return delivery, planned[0].render


def queue_seed(tmp_path: Path, settings):
    """A fresh store with the seed queued for the one configured channel: (store, delivery, render)."""
    store = sqlite_store(tmp_path)
    return (store, *queue_post(seed_post(), store, settings))


def part(text: str, payload: dict, length: int | None = None) -> Part:
    return Part(text, len(text) if length is None else length, payload)


def add_delivery(store, channel: str, parts: list[Part], *, platform: str | None = None, slug: str = "post",
                 source: str = "t.md", url: str | None = None, due: datetime = NOW, key: str | None = None):
    """Store one delivery of ready-made parts, as queueing would, without rendering anything."""
    return store.add_post(slug=slug, title="T", source=source, snapshot={"slug": slug, "title": "T", "url": url},
                          deliveries=[{"channel": channel, "platform": platform or channel, "due_at": due,
                                       "parts": parts, "idempotency_key": key or uuid.uuid4().hex}], now=NOW)[0]


def run_runner(runner, now: datetime) -> int:
    """One pass of `runner` at `now`, closing its clients afterwards."""
    async def go() -> int:
        try:
            return await runner.run_once(now)
        finally:
            await runner.close()
    return asyncio.run(go())


def run_once(store, settings, clock: Clock, *, backoff_base: float = 30, **runner_options) -> int:
    """One pass of a real Runner at the clock's time, with jitter-free backoff so waits can be asserted."""
    from postbot.runner import Backoff, Runner
    runner_options.setdefault("sleep", clock.sleep)
    runner = Runner(store, settings, clock=clock, backoff=Backoff(base=backoff_base, jitter=0), **runner_options)
    return run_runner(runner, clock())


DEAD_WORKER = "elsewhere:1:dead"


def crash_mid_publish(store, progress: dict | None = None):
    """What a daemon killed while publishing leaves behind: a 60-second claim nobody renews and the
    progress it had saved (by default: part 0 was being sent)."""
    (claimed,) = store.claim_due(NOW, worker=DEAD_WORKER, lease_seconds=60)
    saved = {"sending": 0} if progress is None else progress
    assert store.save_progress(claimed.id, worker=DEAD_WORKER, progress=saved)
    return claimed


def run_after_a_crash(store, settings, clock: Clock) -> int:
    """A daemon died sending the one due delivery: nothing runs while its lease lasts, then one run."""
    crash_mid_publish(store)
    assert run_once(store, settings, clock) == 0                # the lease is still the dead daemon's
    clock.advance(seconds=61)
    return run_once(store, settings, clock)


def run_through_an_outage(fake, status: int, store, settings, clock: Clock, delivery_id: int) -> None:
    """`fake` answers the send with `status` (a 5xx): UNKNOWN at once; then, an hour after the outage
    ended, one more run, after which the caller checks that nothing was sent again."""
    fake.outage = status
    run_once(store, settings, clock)
    assert_unknown(store, delivery_id)
    fake.outage = None
    clock.advance(hours=1)
    run_once(store, settings, clock)


def thread_progress(*published) -> dict:
    """The progress a runner records once these thread parts are published, in order."""
    return {"done": [{"remote_id": p.remote_id, "remote_url": p.remote_url} for p in published]}


def assert_unknown(store, delivery_id: int, *in_error: str):
    """The delivery is UNKNOWN (it may or may not have been published) and its error says each of `in_error`."""
    from postbot.models import State
    unknown = store.get(delivery_id)
    assert unknown.state is State.UNKNOWN, (unknown.state, unknown.error)
    for words in in_error:
        assert words in unknown.error
    return unknown
