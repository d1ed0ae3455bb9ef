"""Driving the real `postbot connect` in a child process, for the connect tests: answers on stdin (all at
once, or typed as the prompts come), the browser played by the test, and the checks every flow shares:
.env written 0600 with the other lines kept, and no secret in anything the command printed."""
from __future__ import annotations

import socket
import stat
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from dotenv import dotenv_values

from postbot.connect.envfile import read_settings
from tests.process import child_env

KEPT = "# my settings\nPOSTBOT_TIMEZONE=Europe/Berlin\nOTHER='kept as it was'\n"


def connect(tmp_path: Path, args: list[str], answers: list[str], env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "postbot", "connect", *args],
                          input="".join(line + "\n" for line in answers), env=child_env(env or {}),
                          cwd=tmp_path, capture_output=True, text=True, timeout=timeout)


def env_file(tmp_path: Path, text: str = KEPT) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    path.chmod(0o644)
    return path


def read_settings_text(text: str) -> dict[str, str]:
    return dict(dotenv_values(stream=StringIO(text)))


def assert_written(path: Path, expected: dict[str, str]) -> dict[str, str]:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith(KEPT)                # every other line kept, in place
    values = read_settings(path)
    for key, value in expected.items():
        assert values[key] == value, key
    return values


def assert_never_printed(result: subprocess.CompletedProcess, *secrets: str) -> None:
    for secret in secrets:
        assert secret and secret not in result.stdout and secret not in result.stderr


def start_connect(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", "-m", "postbot", "connect", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(env or {}), cwd=tmp_path,
                            text=True)


def read_until(process: subprocess.Popen, marker: str) -> tuple[str, str]:
    """What the process printed up to the first line holding `marker`, and that line."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen), line.strip()
    process.wait(timeout=10)
    raise AssertionError(f"{marker!r} never printed: {''.join(seen)}{process.stderr.read()}")


class Session:
    """One interactive `postbot connect`: the test types answers, reads up to a marker, plays the browser,
    and at the end has everything printed as one CompletedProcess."""

    def __init__(self, tmp_path: Path, args: list[str], env: dict[str, str] | None = None):
        self.process = start_connect(tmp_path, args, env)
        self.seen: list[str] = []

    def type(self, *lines: str) -> "Session":
        self.process.stdin.write("".join(line + "\n" for line in lines))
        self.process.stdin.flush()
        return self

    def until(self, marker: str) -> str:
        """The first printed line holding `marker` (stripped); everything before it is kept in `seen`."""
        before, line = read_until(self.process, marker)
        self.seen.append(before)
        return line

    def open_link(self, marker: str) -> httpx.Response:
        """The user opens the printed address and clicks Allow: the browser follows the platform's redirect
        back to postbot's listener."""
        return httpx.get(self.until(marker), follow_redirects=True, timeout=10)

    def finish(self, *lines: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Type the last answers, close the input and read the rest. Read through the same file objects as
        `until` (communicate() would read the pipes beneath them and lose what they buffered)."""
        self.type(*lines)
        self.process.stdin.close()
        watchdog = threading.Timer(timeout, self.process.kill)      # a hung flow fails the test, not the run
        watchdog.start()
        try:
            out, err = self.process.stdout.read(), self.process.stderr.read()
            self.process.wait()
        finally:
            watchdog.cancel()
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, "".join(self.seen) + out, err)


def free_redirect() -> str:
    """A loopback redirect URL on a port free right now (what the user registered in the app)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/callback"


def landed_code(response: httpx.Response) -> str:
    """The code in a redirect the browser was sent (a `Location` header)."""
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
