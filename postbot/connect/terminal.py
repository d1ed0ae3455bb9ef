"""The terminal side of a connect flow: prompts, secret prompts that never echo, and messages."""
from __future__ import annotations

import getpass
import os
import queue
import select
import sys
import time
from typing import TextIO

from postbot.errors import ConfigError
from postbot.redact import redact, remember_secret

POLL_SECONDS = 0.1


class Terminal:
    """Reads answers from `stdin` and writes to `stdout`. A secret typed at a real terminal is read
    with getpass (not echoed); from a pipe it is read as a line (nothing echoes a pipe). Every secret is
    remembered by the redactor at once, so no later message or error can print it.

    Lines are read from the file descriptor into a buffer of our own, never by a helper thread: while
    postbot waits for the browser it also watches for a pasted address, and a reader left blocked after
    the browser answered would swallow the user's next answer."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._pending = b""
        self._ended = False
        try:
            self._fd: int | None = self.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None                     # an in-memory stream: its readline never blocks

    def say(self, text: str = "") -> None:
        print(redact(text), file=self.stdout, flush=True)

    # ---- reading lines ----------------------------------------------------------------------------
    def _buffered_line(self) -> str | None:
        if b"\n" in self._pending:
            line, self._pending = self._pending.split(b"\n", 1)
            return line.decode("utf-8", "replace").rstrip("\r")
        if self._ended and self._pending:
            line, self._pending = self._pending, b""
            return line.decode("utf-8", "replace").rstrip("\r")
        return None

    def _fill(self, timeout: float | None) -> None:
        """Read what the descriptor has (waiting at most `timeout`, None: until something comes)."""
        if self._ended:
            return
        if self._fd is None:
            line = self.stdin.readline()
            self._pending += line.encode()
            self._ended = not line
            return
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if ready:
            chunk = os.read(self._fd, 4096)
            self._pending += chunk
            self._ended = not chunk

    def read_line(self) -> str | None:
        """The next line (without its line end), or None at the end of the input."""
        while True:
            line = self._buffered_line()
            if line is not None or self._ended:
                return line
            self._fill(None)

    def wait(self, answers: "queue.Queue[str]", timeout: float) -> str | None:
        """Whichever comes first: an answer put into `answers` (the browser's redirect) or a line typed;
        None when `timeout` seconds pass with neither."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return answers.get_nowait()
            except queue.Empty:
                pass
            line = self._buffered_line()
            if line is not None and line.strip():
                return line.strip()
            if self._ended:
                time.sleep(POLL_SECONDS)        # nothing more can be typed: only the browser can answer
            else:
                self._fill(POLL_SECONDS)
        return None

    def _line(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.read_line()
        if line is None:
            raise ConfigError(f"input ended at the question {prompt.strip()!r}; nothing was written")
        return line

    # ---- questions --------------------------------------------------------------------------------
    def ask(self, question: str, default: str | None = None) -> str:
        """A plain answer; Enter takes the default. Asks again while the answer is empty."""
        shown = f"{question} [{default}]: " if default else f"{question}: "
        while True:
            answer = self._line(shown).strip()
            if answer:
                return answer
            if default:
                return default

    def secret(self, question: str, *, optional: bool = False) -> str:
        """A secret: never echoed, never printed afterwards. An optional one may be left empty (Enter)."""
        prompt = f"{question} ({'Enter to skip, ' if optional else ''}input hidden): "
        while True:
            if self.stdin is sys.stdin and sys.stdin.isatty():
                value = getpass.getpass(prompt, stream=self.stdout).strip()
            else:
                value = self._line(prompt).strip()
            if value:
                remember_secret(value)
                return value
            if optional:
                return ""

    def choose(self, question: str, options: list[str], default: int = 1) -> int:
        """The index (from 0) of one of `options`, shown numbered from 1; asks again until one is picked.
        A single option is taken without asking."""
        if len(options) == 1:
            return 0
        for number, option in enumerate(options, 1):
            self.say(f"  {number}. {option}")
        while True:
            answer = self.ask(f"{question} (1-{len(options)})", str(default))
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return int(answer) - 1
            self.say(f"Type a number from 1 to {len(options)}.")
