"""Threads and Instagram through the daemon's own loop: a container that needs 2 s is published
within 5 s of its due time, not on a 30 s retry. Time is injected: the runner's clock moves only
when the publisher's injected sleep says so, and the fake reads the same clock."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from postbot.daemon import Daemon
from postbot.models import State
from postbot.runner import Backoff, Runner
from tests import test_instagram, test_threads
from tests.fakes.meta import InstagramFake, ThreadsFake
from tests.helpers import Clock, settings_for, sqlite_store

PLATFORMS = {"threads": (ThreadsFake, test_threads), "instagram": (InstagramFake, test_instagram)}


def serve_until_published(store, settings, clock: Clock, delivery_id: int, timeout: float = 30.0) -> None:
    """Run the real Daemon in this process until the delivery is published, then stop it cleanly."""
    async def go() -> None:
        runner = Runner(store, settings, clock=clock, sleep=clock.sleep, backoff=Backoff(jitter=0))
        daemon = Daemon(runner, store, watch_seconds=0.05)
        serving = asyncio.create_task(daemon.serve())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # Waiting on the task, as tests wait on a subprocess: the assertions below are on the clock.
        while store.get(delivery_id).state is not State.PUBLISHED and loop.time() < deadline:
            await asyncio.sleep(0.02)
        daemon.request_stop()
        await asyncio.wait_for(serving, timeout)
    asyncio.run(go())


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_2s_container_is_published_within_5s_of_due(tmp_path, platform):
    fake_class, module = PLATFORMS[platform]
    # The clock starts at the real time so the daemon's own wake-ups (APScheduler) stay sensible.
    clock = Clock(datetime.now(timezone.utc).replace(microsecond=0))
    with fake_class(user_id=module.USER) as fake:
        fake.grant(module.TOKEN, owner=module.USER)
        fake.clock, fake.processing_seconds = clock, 2.0
        store = sqlite_store(tmp_path)
        delivery = store.add_post(slug="hip-thrust", title="T", source="post.md",
                                  snapshot={"slug": "hip-thrust", "title": "T", "url": module.POST.url},
                                  deliveries=[{"channel": platform, "platform": platform, "due_at": clock(),
                                               "parts": [module.part("Due now", module.payload("Due now"))],
                                               "idempotency_key": "k-" + platform}], now=clock())[0]
        serve_until_published(store, settings_for(module.env_for(fake)), clock, delivery.id)
        done = store.get(delivery.id)
        [container] = fake.containers.values()
    assert done.state is State.PUBLISHED, done.error
    late = container["published_at"] - delivery.due_at
    assert late == timedelta(seconds=3) and late <= timedelta(seconds=5)     # polled at 0, 1 and 3 s
    assert len(store.attempts(delivery.id)) == 1 and len(fake.media) == 1
