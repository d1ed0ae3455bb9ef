"""6. Meta containers: how late a Threads or Instagram post goes out when its container needs 2 s.

Real time, real sleeps: a Runner publishes one due delivery to the strict local Graph fake
(tests/fakes/meta.py) whose container stays IN_PROGRESS for 2 s of wall-clock time. The baseline
is the same run with a container that is ready at once (the floor: HTTP and the store). Target:
published within 5 s of the due time (issue 9); before, a slow container waited for a 30 s retry."""
from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.common import Result, Row

TARGET_S = 5.0
PROCESSING_S = 2.0


def _lateness(platform: str, processing: float, folder: Path) -> float:
    from postbot.runner import Runner
    from postbot.store import open_store
    from tests import test_instagram, test_threads
    from tests.fakes.meta import InstagramFake, ThreadsFake
    from tests.helpers import part, settings_for

    fake_class, module = {"threads": (ThreadsFake, test_threads), "instagram": (InstagramFake, test_instagram)}[platform]
    store = open_store(f"sqlite:///{folder / f'{platform}-{processing}.db'}")
    store.migrate()
    with fake_class(user_id=module.USER) as fake:
        fake.grant(module.TOKEN, owner=module.USER)
        fake.processing_seconds = processing
        due = datetime.now(timezone.utc)
        delivery = store.add_post(slug="bench", title="T", source="bench.md", snapshot={"slug": "bench"},
                                  deliveries=[{"channel": platform, "platform": platform, "due_at": due,
                                               "parts": [part("Due now", module.payload("Due now"))],
                                               "idempotency_key": f"bench-{platform}-{processing}"}], now=due)[0]
        runner = Runner(store, settings_for(module.env_for(fake)))

        async def go() -> None:
            try:
                await runner.run_once(datetime.now(timezone.utc))
            finally:
                await runner.close()
        asyncio.run(go())
        [container] = fake.containers.values()
    if "published_at" not in container:
        raise RuntimeError(f"{platform}: not published in the first attempt ({store.get(delivery.id).error})")
    return (container["published_at"] - delivery.due_at).total_seconds()


def run(quick: bool) -> Result:
    result = Result("containers")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="postbot-bench-containers-") as name:
        folder = Path(name)
        for platform in ("threads", "instagram"):
            floor = _lateness(platform, 0.0, folder)
            late = _lateness(platform, PROCESSING_S, folder)
            result.rows.append(Row(f"{platform}: published after due, 2 s container", late, "s", baseline=floor,
                                   baseline_label="container ready at once", target=TARGET_S,
                                   why="polled after 1 and 2 s: ready at 2 s, seen at 3 s"))
    result.details["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result
