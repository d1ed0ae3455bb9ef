"""Secrets never reach the database (issue 17.6): a platform, or the gateway in front of it, that
echoes the request back in its error (tests/fakes/server.py `echo`) leaves no credential in
deliveries.error, attempts.error, progress, channel holds or notices, whether the credential was
configured, sits in a URL path of which only a part is echoed, or was obtained at run time (a
Bluesky session, a renewed Threads/Instagram/LinkedIn token), also in a later process.

Each test drives the real path: a strict fake, the real runner (or `postbot run --once`), then reads
every table of the SQLite file except channel_state (where postbot keeps sessions and tokens)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from postbot.models import State
from postbot.posts import load_post
from tests.fakes.discord import WEBHOOK_TOKEN, FakeDiscord
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN, FakeMastodon
from tests.fakes.meta import InstagramFake, ThreadsFake
from tests.fakes.slack import SECRET as SLACK_SECRET, FakeSlack
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN, FakeTelegram
from tests.helpers import NOW, Clock, add_delivery, part, queue_post, run_once, settings_for, sqlite_store, write_post
from tests.process import child_env, postbot


def stored_text(db: Path) -> str:
    """Every value of every table but channel_state, as text."""
    with sqlite3.connect(db) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        values = [str(value) for table in tables if table != "channel_state"
                  for row in connection.execute(f"SELECT * FROM {table}") for value in row if value is not None]
    return "\n".join(values)


def queue_one(tmp_path: Path, store, settings):
    post = load_post(write_post(tmp_path, "Squats build legs. Here is how to start this week.", title="Squats"))
    delivery, _ = queue_post(post, store, settings)
    return delivery


# ---- a configured token echoed in a header: every outcome that stores text ------------------------
@pytest.mark.parametrize("status, state", [(422, State.FAILED), (503, State.SCHEDULED), (429, State.SCHEDULED)])
def test_a_bearer_token_echoed_back_is_stored_nowhere(tmp_path, status, state):
    store = sqlite_store(tmp_path)
    with FakeMastodon() as fake:
        fake.echo(status, when=lambda request: request.path == "/api/v1/statuses")
        settings = settings_for({"POSTBOT_CHANNELS": "mastodon", "MASTODON_URL": fake.url,
                                 "MASTODON_ACCESS_TOKEN": MASTODON_TOKEN})
        delivery = queue_one(tmp_path, store, settings)
        run_once(store, settings, Clock())
    assert [r.headers["authorization"] for r in fake.requests if r.path == "/api/v1/statuses"] \
        == [f"Bearer {MASTODON_TOKEN}"]                                 # it was sent, and echoed
    stored = store.get(delivery.id)
    assert stored.state is state and stored.error
    assert "rejected credential ***" in stored.error                   # the platform's words stay, masked
    attempts = store.attempts(delivery.id)
    assert attempts and all(MASTODON_TOKEN not in (a.error or "") for a in attempts)
    if status == 429:
        assert MASTODON_TOKEN not in store.holds(NOW)["mastodon"][1]
    assert MASTODON_TOKEN not in stored_text(tmp_path / "postbot.db")


def test_a_secret_cut_in_half_by_the_error_length_is_still_masked(tmp_path):
    """Platform errors are cut to 300 characters: a token straddling the cut must not survive as a half."""
    store = sqlite_store(tmp_path)
    with FakeMastodon() as fake:
        padding = "x" * (300 - len("rejected credential ") - 10)
        fake.echo(422, when=lambda request: request.path == "/api/v1/statuses", prefix=padding)
        settings = settings_for({"POSTBOT_CHANNELS": "mastodon", "MASTODON_URL": fake.url,
                                 "MASTODON_ACCESS_TOKEN": MASTODON_TOKEN})
        delivery = queue_one(tmp_path, store, settings)
        run_once(store, settings, Clock())
    assert store.get(delivery.id).state is State.FAILED
    assert MASTODON_TOKEN[:10] not in stored_text(tmp_path / "postbot.db")


# ---- tokens that live in a URL path, echoed without the rest of the URL ---------------------------
def path_channels():
    """(channel, fake, the secret part of its URL, settings, which field its errors are read from)."""
    return [
        ("discord", FakeDiscord, WEBHOOK_TOKEN, lambda fake: {"DISCORD_WEBHOOK_URL": fake.webhook_url()}, "message"),
        ("slack", FakeSlack, SLACK_SECRET, lambda fake: {"SLACK_WEBHOOK_URL": fake.webhook_url}, None),
        ("telegram", FakeTelegram, TELEGRAM_TOKEN.split(":")[1],
         lambda fake: {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_CHAT_ID": "-1001234567890",
                       "TELEGRAM_API_URL": fake.url}, "description"),
    ]


@pytest.mark.parametrize("name, fake_class, secret, env, field", path_channels(), ids=[c[0] for c in path_channels()])
def test_a_token_in_the_url_path_is_masked_when_only_the_path_is_echoed(tmp_path, name, fake_class, secret, env,
                                                                        field):
    store = sqlite_store(tmp_path)
    with fake_class() as fake:
        fake.echo(400, when=lambda request: request.method == "POST", field=field)
        settings = settings_for({"POSTBOT_CHANNELS": name, **env(fake)})
        delivery = queue_one(tmp_path, store, settings)
        run_once(store, settings, Clock())
    (request,) = [r for r in fake.requests if r.method == "POST"]
    assert secret in request.path and "://" not in fake.echoed(request).split("\n")[1]   # the path alone
    stored = store.get(delivery.id)
    assert stored.state is State.FAILED and "***" in stored.error
    assert secret not in stored_text(tmp_path / "postbot.db")


# ---- tokens obtained at run time ------------------------------------------------------------------
@pytest.mark.parametrize("fake_class, name, grant", [(ThreadsFake, "threads", "25000000000001"),
                                                     (InstagramFake, "instagram", "17841400000000099")])
def test_a_renewed_meta_token_echoed_back_is_stored_nowhere(tmp_path, fake_class, name, grant):
    store, clock = sqlite_store(tmp_path), Clock()
    prefix = name.upper()
    with fake_class(user_id=grant) as fake:
        fake.grant("configured-token-1", owner=grant)
        fake.echo(400, when=lambda request: request.path.endswith(("/threads", "/media")))
        settings = settings_for({"POSTBOT_CHANNELS": name, f"{prefix}_API_URL": fake.api_url,
                                 f"{prefix}_USER_ID": grant, f"{prefix}_ACCESS_TOKEN": "configured-token-1",
                                 f"{prefix}_TOKEN_EXPIRES_AT": (NOW + timedelta(days=3)).isoformat(),
                                 f"{prefix}_IMAGE_BASE_URL": "https://example.com/images"})
        payload = ({"media_type": "TEXT", "text": "Renewed, then refused"} if name == "threads" else
                   {"image_url": "https://example.com/images/a.jpg", "caption": "Renewed, then refused"})
        delivery = add_delivery(store, name, [part("Renewed, then refused", payload)], slug="p")
        run_once(store, settings, clock)
    (renewed,) = fake.renewed                                           # obtained during this run
    assert store.get(delivery.id).state is State.FAILED
    assert renewed not in stored_text(tmp_path / "postbot.db")


def test_a_renewed_linkedin_token_echoed_back_is_stored_nowhere(tmp_path):
    store, clock = sqlite_store(tmp_path), Clock()
    with LinkedInFake(today=NOW.date()) as fake:
        fake.member("AQX-linkedin-token-1", sub="abc123XYZ")
        fake.refresh_tokens["AQRrefresh-token-1"] = "AQX-linkedin-token-1"
        fake.oauth.register("client-1", "client-secret-1")
        fake.echo(400, when=lambda request: request.path == "/rest/posts")
        settings = settings_for({
            "POSTBOT_CHANNELS": "linkedin", "LINKEDIN_API_URL": fake.url, "LINKEDIN_OAUTH_URL": fake.url + "/oauth/v2",
            "LINKEDIN_ACCESS_TOKEN": "AQX-linkedin-token-1", "LINKEDIN_AUTHOR": "urn:li:person:abc123XYZ",
            "LINKEDIN_VERSION": "202611", "LINKEDIN_TOKEN_EXPIRES_AT": (NOW + timedelta(days=2)).isoformat(),
            "LINKEDIN_REFRESH_TOKEN": "AQRrefresh-token-1", "LINKEDIN_CLIENT_ID": "client-1",
            "LINKEDIN_CLIENT_SECRET": "client-secret-1"})
        text = "Renewed, then refused"
        delivery = add_delivery(store, "linkedin", [part(text, {
            "commentary": text, "visibility": "PUBLIC", "distribution": {"feedDistribution": "MAIN_FEED"},
            "lifecycleState": "PUBLISHED"})], slug="p")
        run_once(store, settings, clock)
    (renewed,) = fake.renewed
    assert store.get(delivery.id).state is State.FAILED
    assert renewed not in stored_text(tmp_path / "postbot.db")


def test_a_token_renewed_by_an_earlier_process_is_masked_by_the_next(tmp_path):
    """`postbot run --once` renews the Threads token and keeps it; the next run, a new process that only
    read it from the store, is answered with it bare ('rejected credential <token>')."""
    user = "25000000000001"
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_TIMEZONE": "UTC",
           "POSTBOT_CHANNELS": "threads", "THREADS_USER_ID": user, "THREADS_ACCESS_TOKEN": "configured-token-1",
           "THREADS_TOKEN_EXPIRES_AT": (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()}
    with ThreadsFake(user_id=user) as fake:
        fake.grant("configured-token-1", owner=user)
        env["THREADS_API_URL"] = fake.api_url
        for text in ("First post, renews the token.", "Second post, refused."):
            post = write_post(tmp_path, text, title=text)
            assert postbot(["queue", str(post), "--at", "now", "--json"], env, tmp_path).returncode == 0
            if text.startswith("Second"):
                fake.echo(400, when=lambda request: request.path.endswith("/threads"))
            run = postbot(["run", "--once"], env, tmp_path)
    (renewed,) = fake.renewed
    assert run.returncode == 1, run.stderr
    listed = json.loads(postbot(["list", "--json"], env, tmp_path).stdout)
    assert sorted(d["state"] for d in listed) == ["failed", "published"]
    assert renewed not in run.stderr + run.stdout
    assert renewed not in stored_text(tmp_path / "cli.db")


# ---- Bluesky: the session's JWTs, against the reference PDS ---------------------------------------
@pytest.mark.pds
def test_a_bluesky_session_echoed_back_is_stored_nowhere(tmp_path, pds_url, pds_account):
    from tests.test_bluesky import CREATE, Wire, bluesky_env, runner_for
    from tests.fakes.server import FakeServer, Request
    from tests.helpers import run_runner

    def echo(request: httpx.Request) -> httpx.Response:
        echoed = FakeServer.echoed(Request(request.method, request.url.path, {}, dict(request.headers), b""))
        return httpx.Response(400, json={"error": "InvalidRequest", "message": echoed})

    store = sqlite_store(tmp_path)
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery = queue_one(tmp_path, store, settings)
    run_runner(runner_for(store, settings, Clock(), Wire(answers={CREATE: echo})), NOW)
    session = store.state_get("bluesky", "session")
    assert session["accessJwt"] and store.get(delivery.id).state is State.FAILED
    text = stored_text(tmp_path / "postbot.db")
    assert "rejected credential ***" in text
    assert session["accessJwt"] not in text and session["accessJwt"].split(".")[1] not in text


# ---- logs: tracebacks too -------------------------------------------------------------------------
LOG_A_TRACEBACK = """
import logging
from postbot.cli import _logging
from postbot.redact import remember_secret
_logging(debug=False, verbose=False)
remember_secret("tb-secret-value-123456")
try:
    raise RuntimeError("upstream said: Authorization: Bearer never-seen-before-987 and tb-secret-value-123456")
except RuntimeError:
    logging.getLogger("postbot.test_redaction").exception("delivery %s: unexpected error with %s", 7,
                                                          "tb-secret-value-123456")
"""


def test_a_logged_traceback_is_redacted_like_the_message(tmp_path):
    """The CLI's log handler (cli._logging) carries RedactingFilter: an exception text that holds a
    token is masked in the formatted traceback, not only in the message. In a child process, so the
    handler is the CLI's own and the secret is not left registered in this one."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", LOG_A_TRACEBACK], env=child_env({}), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = result.stderr
    assert "RuntimeError" in written and "delivery 7: unexpected error with ***" in written
    assert "tb-secret-value-123456" not in written and "never-seen-before-987" not in written


# ---- shapes: a credential postbot never saw ----------------------------------------------------------
SHAPED = [  # (text, the credential in it)
    ("postgres://postbot:Pa55-w0rd-here@db.example:5432/postbot", "Pa55-w0rd-here"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("x-api-key: k3y-VALUE-1234567", "k3y-VALUE-1234567"),
    ("sent with Bearer abcdefgh12345678", "abcdefgh12345678"),
    ('{"client_secret": "S3cr3tValue99"}', "S3cr3tValue99"),
    ("https://discord.com/api/webhooks/123456789/Tok-en_value", "Tok-en_value"),
    ("https://hooks.slack.com/services/T0001/B0002/abcdefXYZ123", "abcdefXYZ123"),
    ("https://hooks.slack.com/triggers/E0001/12345/abcdef", "E0001/12345/abcdef"),
    ("token xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
    ("GET /bot123456789:AAHsomeTokenValueThatIsLongEnough_xyz/getMe", "AAHsomeTokenValueThatIsLongEnough_xyz"),
    ("GET /bot123456789%3AAAHsomeTokenValueThatIsLongEnough_xyz/getMe", "AAHsomeTokenValueThatIsLongEnough_xyz"),
    ("session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9"),
]


@pytest.mark.parametrize("text, secret", SHAPED)
def test_every_credential_shape_is_masked_in_any_letter_case_and_beside_any_letters(text, secret):
    """redact() skips a shape whose marker word is not in the text: the markers must hold in every case
    (AUTHORIZATION, Hooks.Slack.Com) and in text that is not ASCII."""
    from postbot.redact import redact
    shouting = text.upper() if not secret.startswith(("eyJ", "xox")) else text   # those two are case-sensitive
    for variant in (text, shouting, f"ünïcödé → {text}", f"ünïcödé → {shouting}"):
        shown = redact(variant)
        hidden = secret.upper() if variant.endswith(shouting) and shouting != text else secret
        assert hidden not in shown and "***" in shown, variant
    ordinary = "Squats: 3×5 at 80 kg. Read https://example.com/squats?ref=news and tell @coach@example.social"
    assert redact(ordinary) == ordinary
