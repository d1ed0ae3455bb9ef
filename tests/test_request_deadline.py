"""Every request to a platform has a total deadline: a server dripping its answer cannot hold it (17.8)."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from tests.process import postbot


@pytest.fixture
def dripping_server():
    """Answers 200 with a 40-byte body, one byte every half second (20 s in all), on 127.0.0.1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n")
                for _ in range(40):
                    if stop.is_set():
                        return
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        break
                    time.sleep(0.5)   # the fake server's pace, not a test wait

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_a_dripping_webhook_answer_is_cut_at_the_deadline(tmp_path, dripping_server):
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "UTC",
           "POSTBOT_CHANNELS": "hooks=webhook", "HOOKS_URL": dripping_server, "HOOKS_SECRET": "s3cret-value",
           "POSTBOT_REQUEST_DEADLINE_SECONDS": "1"}
    post = tmp_path / "post.md"
    post.write_text("A body to send.\n", encoding="utf-8")
    assert postbot(["queue", str(post), "--at", "now"], env, tmp_path).returncode == 0
    postbot(["run", "--once"], env, tmp_path, timeout=60)
    (delivery,) = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)
    assert delivery["state"] != "published"
    assert "deadline" in (delivery["error"] or "")
