"""Runs tests/reference/reference.js against the official npm packages, once per test module.

scripts/test.sh installs the packages (scripts/pds/package.json) into <repo>/.cache/node and exports
POSTBOT_TEST_NODE_MODULES. Without them the reference tests skip, except under CI=true, where they fail.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = Path(os.environ.get("POSTBOT_TEST_NODE_MODULES") or REPO / ".cache" / "node" / "node_modules")
INSTALL_COMMAND = "bash scripts/test.sh"
SCRIPT = Path(__file__).with_name("reference.js")


def _missing(why: str) -> None:
    message = f"{why}; install and run them with `{INSTALL_COMMAND}`"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_reference(request: dict[str, list[str]]) -> dict[str, list]:
    if shutil.which("node") is None:
        _missing("node is not installed")
    needed = {"bluesky": "@atproto/api", "twitter": "twitter-text"}
    for name in (needed[section] for section in request):
        if not (NODE_MODULES / name / "package.json").exists():
            _missing(f"the npm package {name} is missing from {NODE_MODULES}")
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    completed = subprocess.run(["node", str(SCRIPT)], input=json.dumps(request), capture_output=True,
                               text=True, encoding="utf-8", env=env, timeout=120)
    if completed.returncode != 0:
        pytest.fail(f"reference.js failed: {completed.stderr.strip()}")
    return json.loads(completed.stdout)


def installed_version(name: str) -> str:
    return json.loads((NODE_MODULES / name / "package.json").read_text("utf-8"))["version"]
