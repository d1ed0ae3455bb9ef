"""Running the real `postbot` command and daemon as child processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child_env(env: dict[str, str]) -> dict[str, str]:
    merged = {k: v for k, v in os.environ.items() if not k.startswith(("POSTBOT_", "OUTBOX_"))}
    merged["PYTHONPATH"] = str(REPO) + os.pathsep + merged.get("PYTHONPATH", "")
    merged.update(env)
    return merged


def postbot(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "postbot", *args], env=child_env(env), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def start_daemon(env: dict[str, str], cwd: Path, log_path: Path | None = None) -> subprocess.Popen:
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "postbot", "run"], env=child_env(env), cwd=cwd,
                            stdout=out, stderr=out)


def wait_for(condition, timeout: float = 60.0, interval: float = 0.05) -> bool:
    """Poll until condition() is true; waiting on a child process is the only sleeping tests do."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
