"""The dashboard served for real (uvicorn on a free 127.0.0.1 port, in a thread) over a fresh store,
with the ten embedded outbox channels, slots on each, and a hand-moved clock."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import NOW, Clock, settings_for, sqlite_store

PLATFORMS = ("x", "bluesky", "mastodon", "linkedin", "facebook", "threads", "instagram", "telegram", "discord", "slack")


@dataclass
class Dashboard:
    url: str
    settings: object
    store: object
    clock: Clock
    posts_dir: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_dashboard(tmp_path: Path, *, token: str | None = None, extra_env: dict | None = None):
    import uvicorn
    from postbot.web.server import create_app

    env = {"OUTBOX_DIR": str(tmp_path / "outbox"), "POSTBOT_TIMEZONE": "Europe/London",
           **{f"{p.upper()}_SLOTS": "mon-fri 09:00,17:30" for p in PLATFORMS}, **(extra_env or {})}
    settings, store, clock = settings_for(env), sqlite_store(tmp_path), Clock(NOW)
    port = _free_port()
    app = create_app(settings, store=store, posts_dir=tmp_path / "posts", token=token, now=clock)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the dashboard did not start", pytrace=False)
        time.sleep(0.02)
    return server, thread, Dashboard(f"http://127.0.0.1:{port}", settings, store, clock, tmp_path / "posts")


@pytest.fixture
def dashboard(tmp_path):
    server, thread, board = serve_dashboard(tmp_path)
    yield board
    server.should_exit = True
    thread.join(10)
