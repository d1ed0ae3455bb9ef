"""Fixtures for the real servers scripts/test.sh starts: PostgreSQL, the
reference Bluesky PDS and headless Chromium.

scripts/test.sh exports where each one is (POSTBOT_TEST_*). A test whose
service is missing is skipped with a hint, except under CI (CI=true), where
a missing service is a failure: CI must never pass by skipping.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

POSTGRES_URL_VAR = "POSTBOT_TEST_POSTGRES_URL"
PDS_URL_VAR = "POSTBOT_TEST_PDS_URL"
CHROMIUM_VAR = "POSTBOT_TEST_CHROMIUM"
NODE_MODULES_VAR = "POSTBOT_TEST_NODE_MODULES"

# As root Chromium needs --no-sandbox; the networking flags stop it from
# reaching for the internet, which this machine does not have.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _missing(message: str):
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_service(name: str, env_var: str) -> str:
    """The value of env_var; skips the test (fails it under CI=true) when unset."""
    value = os.environ.get(env_var, "").strip()
    if not value:
        _missing(f"needs {name}: {env_var} is not set; start it with scripts/test.sh")
    return value


def shared_dir() -> Path:
    """<repo>/../shared, the read-only reference material; skip/fail rule as for services."""
    path = REPO_ROOT.parent / "shared"
    if not path.is_dir():
        _missing(f"the shared reference folder {path} is missing; put it beside the repository as ../shared")
    return path


def chromium_command(chromium: str, user_data_dir: Path, *args: str) -> list[str]:
    """A headless Chromium command line with a fresh profile in user_data_dir."""
    return [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", *args]


def _with_database(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path="/" + database))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the test run's PostgreSQL database (shared by the whole session)."""
    return require_service("PostgreSQL", POSTGRES_URL_VAR)


@pytest.fixture
def fresh_postgres_url(postgres_url: str):
    """URL of an empty database created for this test and dropped after it."""
    import psycopg
    from psycopg import sql

    database = f"postbot_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        yield _with_database(postgres_url, database)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            # FORCE: a connection the test left open must not keep the database alive.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


@pytest.fixture(scope="session")
def pds_url() -> str:
    """Base URL of the reference Bluesky PDS, e.g. http://localhost:PORT."""
    return require_service("the Bluesky PDS", PDS_URL_VAR).rstrip("/")


@pytest.fixture
def pds_account(pds_url: str) -> dict[str, str]:
    """A new account on the PDS: {"handle", "password", "did", "email"}."""
    import httpx

    name = f"u{secrets.token_hex(6)}"
    account = {
        "handle": f"{name}.test",
        "email": f"{name}@example.com",
        "password": secrets.token_urlsafe(18),
    }
    response = httpx.post(f"{pds_url}/xrpc/com.atproto.server.createAccount", json=account, timeout=30)
    if response.status_code != 200:
        pytest.fail(f"createAccount on {pds_url} answered {response.status_code}: {response.text}", pytrace=False)
    account["did"] = response.json()["did"]
    return account


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Chromium binary; run it via chromium_command()."""
    path = require_service("Chromium", CHROMIUM_VAR)
    if not os.access(path, os.X_OK):
        _missing(f"{CHROMIUM_VAR}={path} is not an executable; install chromium with scripts/test.sh")
    return path


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The node_modules folder holding @atproto/api and twitter-text (reference implementations)."""
    path = Path(require_service("the Node reference packages", NODE_MODULES_VAR))
    if not path.is_dir():
        _missing(f"{NODE_MODULES_VAR}={path} does not exist; install it with scripts/test.sh")
    return path
