"""Runs tests/reference/reference.js against the official npm packages, once per test module.

The packages live in <repo>/.cache/node-ref (gitignored). Install them with INSTALL_COMMAND.
Without them the reference tests skip, except under CI=true, where they fail.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFIX = REPO / ".cache" / "node-ref"
PACKAGES = {"@atproto/api": "0.19.19", "twitter-text": "3.1.0"}
INSTALL_COMMAND = ("npm install --no-package-lock --no-audit --no-fund --prefix .cache/node-ref "
                   + " ".join(f"{name}@{version}" for name, version in PACKAGES.items()))
SCRIPT = Path(__file__).with_name("reference.js")


def _missing(why: str) -> None:
    message = f"{why}; run `{INSTALL_COMMAND}` in the repository root"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_reference(request: dict[str, list[str]]) -> dict[str, list]:
    if shutil.which("node") is None:
        _missing("node is not installed")
    needed = {"bluesky": "@atproto/api", "twitter": "twitter-text"}
    for name in (needed[section] for section in request):
        if not (PREFIX / "node_modules" / name / "package.json").exists():
            _missing(f"the npm package {name} is missing from .cache/node-ref")
    env = {**os.environ, "NODE_PATH": str(PREFIX / "node_modules")}
    completed = subprocess.run(["node", str(SCRIPT)], input=json.dumps(request), capture_output=True,
                               text=True, encoding="utf-8", env=env, timeout=120)
    if completed.returncode != 0:
        pytest.fail(f"reference.js failed: {completed.stderr.strip()}")
    return json.loads(completed.stdout)


def installed_version(name: str) -> str:
    return json.loads((PREFIX / "node_modules" / name / "package.json").read_text("utf-8"))["version"]
