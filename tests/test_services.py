"""Smoke tests: each service scripts/test.sh starts is really up and behaves
like the real thing, and the fixtures' skip/fail rule holds."""
from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timezone

import pytest

from tests.services import chromium_command, require_service, shared_dir


def test_missing_service_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("POSTBOT_TEST_NOTHING", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="scripts/test.sh"):
        require_service("Nothing", "POSTBOT_TEST_NOTHING")


def test_missing_service_fails_under_ci(monkeypatch):
    monkeypatch.delenv("POSTBOT_TEST_NOTHING", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="POSTBOT_TEST_NOTHING"):
        require_service("Nothing", "POSTBOT_TEST_NOTHING")


def test_present_service_gives_its_value(monkeypatch):
    monkeypatch.setenv("POSTBOT_TEST_NOTHING", "http://127.0.0.1:9")
    assert require_service("Nothing", "POSTBOT_TEST_NOTHING") == "http://127.0.0.1:9"


def test_shared_dir_holds_the_reference_material():
    assert (shared_dir() / "real-servers.md").is_file()


def test_postgres_answers_a_query(postgres_url):
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        assert int(version) >= 150000
        assert conn.execute("SELECT 6 * 7").fetchone()[0] == 42


def test_fresh_postgres_database_is_empty_and_separate(postgres_url, fresh_postgres_url):
    import psycopg

    assert fresh_postgres_url != postgres_url
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
        assert tables == 0
        conn.execute("CREATE TABLE probe (id int)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert conn.execute("SELECT current_database()").fetchone()[0] == fresh_postgres_url.rsplit("/", 1)[1]


def _session(pds_url, account):
    import httpx

    response = httpx.post(
        f"{pds_url}/xrpc/com.atproto.server.createSession",
        json={"identifier": account["handle"], "password": account["password"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["did"] == account["did"]
    return body["accessJwt"]


def _post_record(text: str) -> dict:
    return {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
    }


def test_pds_stores_a_post_and_reads_it_back(pds_url, pds_account):
    import httpx

    assert pds_account["handle"].endswith(".test")
    assert pds_account["did"].startswith("did:plc:")
    headers = {"Authorization": f"Bearer {_session(pds_url, pds_account)}"}
    created = httpx.post(
        f"{pds_url}/xrpc/com.atproto.repo.createRecord",
        headers=headers,
        json={"repo": pds_account["did"], "collection": "app.bsky.feed.post", "record": _post_record("Hello from postbot's smoke test")},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    uri = created.json()["uri"]
    rkey = uri.rsplit("/", 1)[1]
    assert uri == f"at://{pds_account['did']}/app.bsky.feed.post/{rkey}"

    fetched = httpx.get(
        f"{pds_url}/xrpc/com.atproto.repo.getRecord",
        params={"repo": pds_account["did"], "collection": "app.bsky.feed.post", "rkey": rkey},
        timeout=30,
    )
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["value"]["text"] == "Hello from postbot's smoke test"


def test_pds_validates_posts_against_the_lexicon(pds_url, pds_account):
    import httpx

    headers = {"Authorization": f"Bearer {_session(pds_url, pds_account)}"}
    response = httpx.post(
        f"{pds_url}/xrpc/com.atproto.repo.createRecord",
        headers=headers,
        json={"repo": pds_account["did"], "collection": "app.bsky.feed.post", "record": _post_record("x" * 301)},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest"


def test_pds_refuses_requests_without_a_session(pds_url, pds_account):
    import httpx

    response = httpx.post(
        f"{pds_url}/xrpc/com.atproto.repo.createRecord",
        json={"repo": pds_account["did"], "collection": "app.bsky.feed.post", "record": _post_record("no auth")},
        timeout=30,
    )
    assert response.status_code == 401


def test_chromium_renders_a_page_and_runs_its_script(chromium, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><html><body><p id='out'>static text</p>"
        "<script>document.getElementById('out').textContent = 'rendered ' + 'by script';</script>"
        "</body></html>",
        encoding="utf-8",
    )
    result = subprocess.run(
        chromium_command(chromium, tmp_path / "profile", "--dump-dom", page.as_uri()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert '<p id="out">rendered by script</p>' in result.stdout


def test_node_reference_packages_load(node_modules):
    script = (
        "const twitter = require('twitter-text');"
        "const { RichText } = require('@atproto/api');"
        "const rt = new RichText({ text: 'caf\\u00e9 https://example.com' });"
        "rt.detectFacetsWithoutResolution();"
        "console.log(JSON.stringify({"
        "  weighted: twitter.parseTweet('caf\\u00e9 https://example.com').weightedLength,"
        "  graphemes: rt.graphemeLength,"
        "  facets: rt.facets.length,"
        "}));"
    )
    result = subprocess.run(
        ["node", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "NODE_PATH": str(node_modules)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # t.co counts every URL as 23; RichText finds the link and counts graphemes.
    assert json.loads(result.stdout) == {"weighted": 28, "graphemes": 24, "facets": 1}
