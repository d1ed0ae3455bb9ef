"""The terminal side of a connect flow: prompts, secret prompts that never echo, and messages."""
from __future__ import annotations

import getpass
import sys
from typing import TextIO

from postbot.errors import ConfigError
from postbot.redact import redact, remember


class Terminal:
    """Reads answers from `stdin` and writes to `stdout`. A secret typed at a real terminal is read
    with getpass (not echoed); from a pipe it is read as a line (nothing echoes a pipe). Every secret is
    remembered by the redactor at once, so no later message or error can print it."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    def say(self, text: str = "") -> None:
        print(redact(text), file=self.stdout, flush=True)

    def _line(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise ConfigError(f"input ended at the question {prompt.strip()!r}; nothing was written")
        return line.rstrip("\r\n")

    def ask(self, question: str, default: str | None = None) -> str:
        """A plain answer; Enter takes the default. Asks again while the answer is empty."""
        shown = f"{question} [{default}]: " if default else f"{question}: "
        while True:
            answer = self._line(shown).strip()
            if answer:
                return answer
            if default:
                return default

    def secret(self, question: str, var: str) -> str:
        """A secret for the setting `var`: never echoed, never printed afterwards."""
        prompt = f"{question} (input hidden): "
        while True:
            if self.stdin is sys.stdin and sys.stdin.isatty():
                value = getpass.getpass(prompt, stream=self.stdout).strip()
            else:
                value = self._line(prompt).strip()
            if value:
                remember([("SECRET", value)])
                return value
