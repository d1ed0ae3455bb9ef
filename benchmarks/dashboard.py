"""7. Dashboard: the calendar page's server time with 10,000 deliveries in the store (target under
100 ms), against the same page over an empty store in the same run; and `postbot serve` from process
start to its first answered page, against `python -c pass`."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.common import Result, Row, median, python_env

DELIVERIES = 10_000
PAGE_TARGET_MS = 100.0
START = datetime(2026, 12, 7, 0, 0, tzinfo=timezone.utc)       # a Monday


def _store(folder: Path, deliveries: int):
    from postbot.models import Part
    from postbot.store import open_store

    store = open_store(f"sqlite:///{folder / f'dash-{deliveries}.db'}")
    store.migrate()
    if deliveries:
        part = [Part("Do I think the Hip Thrust is a good exercise? Well the answer is a big resounding NO!",
                     84, {}, [])]
        [first] = store.add_post(slug="bench", title="Bench", source="bench.txt", snapshot={}, now=START,
                                 deliveries=[{"channel": "x", "platform": "x", "due_at": START, "parts": part,
                                              "idempotency_key": "bench-0"}])
        # 10,000 deliveries spread over ten weeks: the shown week holds about a tenth of them.
        store.add_many([(first.post_id, f"ch{i % 10}", "x", START + timedelta(minutes=10 * i), f"bench-{i + 1}", part)
                        for i in range(deliveries - 1)], now=START)
    return store


def _page_ms(folder: Path, deliveries: int, repeats: int) -> float:
    import httpx
    from postbot.config import load_settings
    from postbot.web.server import create_app

    settings = load_settings({"POSTBOT_TIMEZONE": "Europe/London", "POSTBOT_DATABASE_URL": "sqlite:///:memory:",
                              **{f"CH{i}_SLOTS": "mon-fri 09:00,17:30" for i in range(10)},
                              "POSTBOT_CHANNELS": ",".join(f"ch{i}=outbox" for i in range(10)),
                              **{f"CH{i}_RENDER_AS": "x" for i in range(10)}})
    app = create_app(settings, store=_store(folder, deliveries), now=lambda: START)

    async def timed() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8377") as client:
            await client.get("/calendar?start=2026-12-07")            # templates compiled
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                answer = await client.get("/calendar?start=2026-12-07")
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.text[:200]
            return median(times)
    return asyncio.run(timed())


def _serve_start_seconds(folder: Path, runs: int) -> tuple[float, float]:
    env = python_env({"POSTBOT_DATABASE_URL": f"sqlite:///{folder / 'serve.db'}", "POSTBOT_TIMEZONE": "UTC"})
    serve, bare = [], []
    for _ in range(runs):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "postbot", "serve", "--port", str(port)], cwd=folder,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/calendar", timeout=2) as answer:
                        answer.read()
                    break
                except OSError:
                    if process.poll() is not None or time.perf_counter() - started > 30:
                        raise RuntimeError("postbot serve did not answer")
                    time.sleep(0.01)
            serve.append(time.perf_counter() - started)
        finally:
            process.terminate()
            process.wait(10)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        bare.append(time.perf_counter() - started)
    return median(serve), median(bare)


def run(quick: bool) -> Result:
    result = Result("dashboard")
    repeats = 5 if quick else 20
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        empty = _page_ms(folder, 0, repeats)
        full = _page_ms(folder, DELIVERIES, repeats)
        result.rows.append(Row(f"calendar week page, {DELIVERIES:,} deliveries in the store (server time, median)",
                               full, "ms", baseline=empty, baseline_label="same page, empty store",
                               target=PAGE_TARGET_MS))
        serve, bare = _serve_start_seconds(folder, 3 if quick else 7)
        result.rows.append(Row("`postbot serve` start to first calendar page, median", serve, "s",
                               baseline=bare, baseline_label="python -c pass", why="information"))
    result.details = {"deliveries": DELIVERIES, "repeats": repeats}
    return result
