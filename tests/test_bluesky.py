"""The Bluesky adapter against the reference PDS (@atproto/pds, started by scripts/test.sh).

Records are read back from the PDS with com.atproto.repo.getRecord / listRecords, blobs with
com.atproto.sync.getBlob. Link cards fetch pages from a local web site (tests/fakes/webpages.py).
Requests are counted, crashed or answered by the platform through an httpx transport handed to
the Runner (its client_factory): the adapter and the runner run unmodified."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from postbot.errors import ConfigError
from postbot.models import Channel, State
from postbot.posts import load_post
from postbot.platforms.base import MemoryState
from postbot.platforms.bluesky import BLOB_MAX_BYTES, BlueskySender, lexicon_datetime, new_tid
from postbot.platforms.media import fit_image, parse_page
from postbot.runner import Runner
from tests.fakes.webpages import WebSite, og_page, png
from tests.helpers import (LOOPBACK_FETCH, NOW, Clock, queue_post, run_runner, seed_path, settings_for, sqlite_store, with_client,
                           write_post)

LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"
CREATE = "com.atproto.repo.createRecord"
LOGIN = "com.atproto.server.createSession"
REFRESH = "com.atproto.server.refreshSession"
LOOKUP = "com.atproto.repo.getRecord"


# ---- plumbing -------------------------------------------------------------------------------------
class Crash(BaseException):
    """Stands for the process dying: nothing in postbot catches it, so nothing is recorded."""


class Wire(httpx.AsyncHTTPTransport):
    """The real network, with a log of XRPC methods called and two ways to break an exchange:
    `crash_on_create=n` lets the n-th createRecord reach the PDS and then kills the run before the
    answer is used; `lose_answer_on_create=n` drops the n-th answer as a broken connection.
    `answers[method]` replaces the PDS's answer (for what the test PDS is not set up to do): a response,
    or a function of the request that makes one."""

    def __init__(self, crash_on_create: int | None = None, lose_answer_on_create: int | None = None,
                 answers: dict[str, httpx.Response] | None = None):
        super().__init__()
        self.calls: list[str] = []
        self.crash_on_create, self.lose_answer_on_create = crash_on_create, lose_answer_on_create
        self.answers = answers or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        self.calls.append(method)
        if method in self.answers:
            answer = self.answers[method]
            return answer(request) if callable(answer) else answer
        response = await super().handle_async_request(request)
        creates = self.calls.count(CREATE)
        if method == CREATE and creates in (self.crash_on_create, self.lose_answer_on_create):
            await response.aread()
            await response.aclose()
            if creates == self.crash_on_create:
                raise Crash()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def bluesky_env(pds_url: str, account: dict[str, str], **extra: str) -> dict[str, str]:
    return {"POSTBOT_CHANNELS": "bluesky", "BLUESKY_HANDLE": account["handle"],
            "BLUESKY_APP_PASSWORD": account["password"], "BLUESKY_SERVICE": pds_url, **LOOPBACK_FETCH, **extra}


def runner_for(store, settings, clock, wire: Wire | None = None) -> Runner:
    factory = (lambda kind: httpx.AsyncClient(transport=wire, timeout=30)) if wire else None
    return Runner(store, settings, clock=clock, client_factory=factory)


def queue_file(path: Path, store, settings, now: datetime = NOW):
    return queue_post(load_post(path), store, settings, now)


def records(pds_url: str, did: str) -> list[dict]:
    response = httpx.get(f"{pds_url}/xrpc/com.atproto.repo.listRecords",
                         params={"repo": did, "collection": "app.bsky.feed.post", "limit": 100}, timeout=30)
    response.raise_for_status()
    return response.json()["records"]


def get_record(pds_url: str, uri: str) -> dict:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    response = httpx.get(f"{pds_url}/xrpc/com.atproto.repo.getRecord",
                         params={"repo": did, "collection": collection, "rkey": rkey}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def get_blob(pds_url: str, did: str, blob: dict) -> bytes:
    response = httpx.get(f"{pds_url}/xrpc/com.atproto.sync.getBlob",
                         params={"did": did, "cid": blob["ref"]["$link"]}, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def assert_facets_cover_their_text(record: dict) -> None:
    data = record["text"].encode("utf-8")
    for facet in record.get("facets", []):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        covered = data[start:end].decode("utf-8")          # raises inside a multibyte character
        (feature,) = facet["features"]
        if feature["$type"] == LINK:
            from postbot.text import short_url
            assert covered in (feature["uri"], short_url(feature["uri"])), (covered, feature["uri"])
        else:
            assert feature["$type"] == TAG and covered == "#" + feature["tag"], (covered, feature)


def session_of(store) -> dict:
    return store.state_get("bluesky", "session")


@pytest.fixture
def store(tmp_path):
    return sqlite_store(tmp_path)


@pytest.fixture
def site():
    with WebSite() as server:
        yield server


# ---- pure parts (no server) ---------------------------------------------------------------------------
def test_record_keys_are_tids_in_sending_order():
    keys = [new_tid() for _ in range(200)]
    assert all(re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", k) for k in keys)
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_created_at_uses_the_lexicon_datetime_form():
    moment = datetime(2026, 3, 29, 1, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert lexicon_datetime(moment) == "2026-03-28T23:30:05.123Z"


def test_page_metadata_prefers_open_graph_and_falls_back_to_the_title():
    page = og_page("OG title", "OG description", image="/img/a.png", html_title="Tab title")
    assert parse_page(page, "https://example.com/blog/post") == {
        "title": "OG title", "description": "OG description", "image": "https://example.com/img/a.png"}
    plain = "<html><head><title>\n  Just a   title </title><meta name='description' content='Desc'></head></html>"
    assert parse_page(plain, "https://example.com/") == {"title": "Just a title", "description": "Desc", "image": ""}


def test_images_over_the_blob_limit_are_shrunk_and_keep_their_shape():
    big = png(1500, 1000, noise=True)
    assert len(big) > BLOB_MAX_BYTES
    data, mime, width, height = fit_image(big, BLOB_MAX_BYTES)
    assert mime == "image/jpeg" and len(data) <= BLOB_MAX_BYTES
    assert abs(width / height - 1.5) < 0.01
    small = png(40, 20)
    assert fit_image(small, BLOB_MAX_BYTES) == (small, "image/png", 40, 20)


# ---- the real PDS ------------------------------------------------------------------------------------
pds = pytest.mark.pds


@pds
def test_seed_post_lands_exactly_as_previewed(tmp_path, store, pds_url, pds_account, caplog):
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(seed_path(), store, settings)
    assert render.payload["facets"], "the seed's CTA link must be a facet"
    with caplog.at_level(logging.WARNING, logger="postbot.platforms.bluesky"):
        assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED, done.error
    (stored,) = records(pds_url, pds_account["did"])
    record = stored["value"]
    assert record["text"] == render.text == render.parts[0].text
    assert record["facets"] == render.payload["facets"]
    assert_facets_cover_their_text(record)
    assert record["createdAt"] == "2026-12-01T09:00:00.000Z"
    assert not any(key.startswith("_") for key in record)
    # The seed's link points at the internet, which this machine cannot reach: no card, a warning.
    assert "embed" not in record
    assert any("no link card" in message for message in caplog.messages)
    rkey = stored["uri"].rsplit("/", 1)[-1]
    assert done.remote_id == stored["uri"]
    assert done.remote_url == f"https://bsky.app/profile/{pds_account['handle']}/post/{rkey}"


@pds
def test_tags_of_every_script_land_as_tag_facets_the_pds_accepts(tmp_path, store, pds_url, pds_account):
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    tags = ["Récupération", "योग", "ออกกำลังกาย", "筋トレ", "لياقة_بدنية", "ورزش\u200cکار", "💪gains", family + "fam"]
    path = tmp_path / "post.md"
    path.write_text(f"---\ntitle: Rest\ntags: {json.dumps(tags, ensure_ascii=False)}\n---\n"
                    "Rest days build strength too. Sleep, eat, walk.\n", encoding="utf-8")
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(path, store, settings)
    assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    assert store.get(delivery.id).state is State.PUBLISHED, store.get(delivery.id).error
    (stored,) = records(pds_url, pds_account["did"])
    record = stored["value"]
    assert record["text"] == render.text
    assert_facets_cover_their_text(record)       # byte offsets exact, as the PDS stored them
    found = [f["features"][0]["tag"] for f in record["facets"] if f["features"][0]["$type"] == TAG]
    # Bluesky's parser breaks a tag at ZWNJ/ZWJ: postbot drops them (with a warning) to keep it whole.
    assert found == ["Récupération", "योग", "ออกกำลังกาย", "筋トレ", "لياقة_بدنية", "ورزشکار", "💪gains",
                     "\U0001F468\U0001F469\U0001F467fam"]


@pds
def test_link_card_from_open_graph_with_uploaded_thumbnail(tmp_path, store, site, pds_url, pds_account):
    thumb = png(600, 315)
    site.picture("/thumb.png", thumb)
    article = site.page("/article", og_page("Hip thrusts, reconsidered", "Why I don't program them",
                                            image="/thumb.png"))
    path = write_post(tmp_path, "Do hip thrusts build glutes? Short answer: there are better lifts. #training",
                      title="Hip thrusts", url=article)
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(path, store, settings)
    assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    assert store.get(delivery.id).state is State.PUBLISHED
    (stored,) = records(pds_url, pds_account["did"])
    record = stored["value"]
    assert record["text"] == render.text
    assert_facets_cover_their_text(record)
    tags = [f["features"][0]["tag"] for f in record["facets"] if f["features"][0]["$type"] == TAG]
    assert tags == ["training"]
    (link,) = [f["features"][0]["uri"] for f in record["facets"] if f["features"][0]["$type"] == LINK]
    assert link.startswith(article + "?") and "utm_source=bluesky" in link
    external = record["embed"]["external"]
    assert record["embed"]["$type"] == "app.bsky.embed.external"
    assert (external["uri"], external["title"], external["description"]) == (
        link, "Hip thrusts, reconsidered", "Why I don't program them")
    assert external["thumb"]["mimeType"] == "image/png" and external["thumb"]["size"] == len(thumb)
    assert get_blob(pds_url, pds_account["did"], external["thumb"]) == thumb
    (page_fetch,) = site.fetched("/article")
    assert page_fetch.query == {}, "tracking parameters must not be sent when fetching the card"


@pds
def test_oversized_card_picture_is_reencoded_under_the_blob_limit(tmp_path, store, site, pds_url, pds_account):
    site.picture("/huge.png", png(1200, 1200, noise=True))
    article = site.page("/big", og_page("", None, image="/huge.png", html_title="Only a title tag"))
    path = write_post(tmp_path, "A post with a heavy picture on its page.", title="Heavy", url=article)
    settings = settings_for(bluesky_env(pds_url, pds_account))
    queue_file(path, store, settings)
    assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    (stored,) = records(pds_url, pds_account["did"])
    external = stored["value"]["embed"]["external"]
    assert external["title"] == "Only a title tag" and external["description"] == ""
    assert external["thumb"]["mimeType"] == "image/jpeg" and external["thumb"]["size"] <= BLOB_MAX_BYTES
    assert len(get_blob(pds_url, pds_account["did"], external["thumb"])) == external["thumb"]["size"]


@pds
def test_image_with_alt_text_wins_over_the_card(tmp_path, store, site, pds_url, pds_account):
    article = site.page("/article", og_page("A card that must not be used"))
    (tmp_path / "photo.png").write_bytes(png(1500, 1000, noise=True))
    path = write_post(tmp_path, "Standing hip extensions, done right.", title="Form", url=article,
                      image="photo.png", image_alt="A lifter doing a standing hip extension")
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(path, store, settings)
    assert render.payload["_embed"]["alt"] == "A lifter doing a standing hip extension"
    assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    (stored,) = records(pds_url, pds_account["did"])
    record = stored["value"]
    assert record["embed"]["$type"] == "app.bsky.embed.images"
    (image,) = record["embed"]["images"]
    assert image["alt"] == "A lifter doing a standing hip extension"
    assert abs(image["aspectRatio"]["width"] / image["aspectRatio"]["height"] - 1.5) < 0.01
    assert image["image"]["size"] <= BLOB_MAX_BYTES
    assert len(get_blob(pds_url, pds_account["did"], image["image"])) == image["image"]["size"]
    assert any(f["features"][0]["$type"] == LINK for f in record["facets"]), "the link stays clickable"
    assert site.fetched("/article") == [], "no card means no page fetch"


@pds
def test_image_by_url_is_uploaded_unchanged_when_small(tmp_path, store, site, pds_url, pds_account):
    picture = png(64, 48)
    image_url = site.picture("/pic.png", picture)
    path = write_post(tmp_path, "A small picture from the web.", title="Pic", image=image_url, image_alt="Red")
    settings = settings_for(bluesky_env(pds_url, pds_account))
    queue_file(path, store, settings)
    assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    (stored,) = records(pds_url, pds_account["did"])
    (image,) = stored["value"]["embed"]["images"]
    assert image["aspectRatio"] == {"width": 64, "height": 48} and image["alt"] == "Red"
    assert get_blob(pds_url, pds_account["did"], image["image"]) == picture


@pds
def test_page_that_cannot_be_fetched_means_no_card_and_a_warning(tmp_path, store, site, pds_url, pds_account,
                                                                  caplog):
    article = site.page("/gone", "<h1>Not here</h1>", status=404)
    path = write_post(tmp_path, "The page behind this link is gone.", title="Gone", url=article)
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(path, store, settings)
    with caplog.at_level(logging.WARNING, logger="postbot.platforms.bluesky"):
        assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    (stored,) = records(pds_url, pds_account["did"])
    assert "embed" not in stored["value"] and stored["value"]["text"] == render.text
    assert any("no link card" in m and "404" in m for m in caplog.messages)


@pds
def test_session_is_kept_and_refreshed_never_a_login_per_post(tmp_path, store, pds_url, pds_account):
    settings = settings_for(bluesky_env(pds_url, pds_account))
    clock = Clock()

    def publish_one(body: str, wire: Wire) -> None:
        folder = tmp_path / str(len(store.list()))
        folder.mkdir()
        delivery, _ = queue_file(write_post(folder, body), store, settings, clock.now)
        assert run_runner(runner_for(store, settings, clock, wire), clock.now) == 1
        assert store.get(delivery.id).state is State.PUBLISHED, store.get(delivery.id).error

    first, second = Wire(), Wire()
    publish_one("The first post of the day.", first)
    kept = session_of(store)
    assert kept["did"] == pds_account["did"] and kept["handle"] == pds_account["handle"]
    publish_one("The second post of the day.", second)
    assert first.calls.count(LOGIN) == 1 and LOGIN not in second.calls
    assert session_of(store)["refreshJwt"] == kept["refreshJwt"]

    # An access token the PDS no longer accepts: refreshed with the refresh token, then posted.
    store.state_set("bluesky", "session", {**kept, "accessJwt": "expired.access.token"})
    third = Wire()
    publish_one("The third post, after the access token expired.", third)
    assert third.calls == [CREATE, REFRESH, LOOKUP, CREATE]
    renewed = session_of(store)
    assert renewed["refreshJwt"] != kept["refreshJwt"] and renewed["accessJwt"] != "expired.access.token"

    # Both tokens dead: one new login.
    store.state_set("bluesky", "session", {**renewed, "accessJwt": "dead", "refreshJwt": "dead"})
    fourth = Wire()
    publish_one("The fourth post, after both tokens died.", fourth)
    assert fourth.calls == [CREATE, REFRESH, LOGIN, LOOKUP, CREATE]
    assert len(records(pds_url, pds_account["did"])) == 4


@pds
def test_wrong_app_password_fails_naming_the_setting(tmp_path, store, pds_url, pds_account):
    settings = settings_for(bluesky_env(pds_url, {**pds_account, "password": "not-the-password-123"}))
    delivery, _ = queue_file(write_post(tmp_path, "This will not be posted."), store, settings)
    assert run_runner(runner_for(store, settings, Clock()), NOW) == 0
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED
    assert "BLUESKY_APP_PASSWORD" in failed.error and "not-the-password-123" not in failed.error
    assert records(pds_url, pds_account["did"]) == []


@pds
def test_crash_after_the_post_was_sent_never_posts_twice(tmp_path, store, pds_url, pds_account):
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(write_post(tmp_path, "Sent once, whatever happens."), store, settings)
    clock = Clock()
    run_runner(runner_for(store, settings, clock, Wire(crash_on_create=1)), clock.now)
    stuck = store.get(delivery.id)
    assert stuck.state is State.PUBLISHING and stuck.progress["rkeys"]["0"]
    (landed,) = records(pds_url, pds_account["did"])

    clock.advance(seconds=settings.lease_seconds + 1)
    after = Wire()
    assert run_runner(runner_for(store, settings, clock, after), clock.now) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED and done.remote_id == landed["uri"]
    assert after.calls == [LOOKUP], "found by its record key, not sent again"
    assert [r["uri"] for r in records(pds_url, pds_account["did"])] == [landed["uri"]]
    assert landed["uri"].endswith("/" + stuck.progress["rkeys"]["0"])


@pds
def test_lost_answer_is_resolved_by_lookup_at_once(tmp_path, store, pds_url, pds_account):
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, _ = queue_file(write_post(tmp_path, "The answer to this one gets lost."), store, settings)
    wire = Wire(lose_answer_on_create=1)
    assert run_runner(runner_for(store, settings, Clock(), wire), NOW) == 1
    assert wire.calls == [LOGIN, CREATE, LOOKUP]
    (stored,) = records(pds_url, pds_account["did"])
    assert store.get(delivery.id).remote_id == stored["uri"]


@pds
def test_rate_limit_holds_the_channel_until_the_reset(tmp_path, store, pds_url, pds_account):
    reset = NOW + timedelta(minutes=17)
    limited = httpx.Response(429, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                             headers={"RateLimit-Limit": "5000", "RateLimit-Remaining": "0",
                                      "RateLimit-Reset": str(int(reset.timestamp())),
                                      "RateLimit-Policy": "5000;w=3600"})
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, _ = queue_file(write_post(tmp_path, "Too many posts this hour."), store, settings)
    assert run_runner(runner_for(store, settings, Clock(), Wire(answers={CREATE: limited})), NOW) == 0
    waiting = store.get(delivery.id)
    assert waiting.state is State.SCHEDULED and waiting.next_attempt_at == reset
    assert store.holds(NOW)["bluesky"][0] == reset
    # After the reset it goes out with the key it already had.
    clock = Clock(reset + timedelta(seconds=1))
    assert run_runner(runner_for(store, settings, clock), clock.now) == 1
    (stored,) = records(pds_url, pds_account["did"])
    assert stored["uri"].endswith("/" + waiting.progress["rkeys"]["0"])


THREAD_BODY = " ".join(
    f"Point {n}: " + " ".join(["the hinge pattern loads the posterior chain through a long range of motion"] * 2)
    + f", which is what point {n} is about." for n in range(1, 6))


def thread_post(tmp_path: Path, site: WebSite) -> Path:
    article = site.page("/thread", og_page("The whole argument", "In one article"))
    return write_post(tmp_path, THREAD_BODY, title="Thread", url=article, thread=True)


def assert_thread(pds_url: str, did: str, render, head_uri: str) -> None:
    stored = {r["uri"]: r for r in records(pds_url, did)}
    assert len(stored) == 5, "five parts, no duplicates"
    root = stored[head_uri]
    chain = [root]
    while len(chain) < len(stored):
        (child,) = [r for r in stored.values()
                    if r["value"].get("reply", {}).get("parent", {}).get("uri") == chain[-1]["uri"]]
        assert child["value"]["reply"]["parent"]["cid"] == chain[-1]["cid"]
        assert child["value"]["reply"]["root"] == {"uri": root["uri"], "cid": root["cid"]}
        chain.append(child)
    assert [r["value"]["text"] for r in chain] == [p.text for p in render.parts]
    assert "reply" not in root["value"]
    for record in chain:
        assert_facets_cover_their_text(record["value"])
    assert chain[-1]["value"]["embed"]["external"]["title"] == "The whole argument"


@pds
def test_five_part_thread_lands_in_order_and_chained(tmp_path, store, site, pds_url, pds_account):
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(thread_post(tmp_path, site), store, settings)
    assert len(render.parts) == 5
    assert run_runner(runner_for(store, settings, Clock()), NOW) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED
    assert_thread(pds_url, pds_account["did"], render, done.remote_id)


@pds
def test_thread_survives_a_crash_in_the_middle(tmp_path, store, site, pds_url, pds_account):
    settings = settings_for(bluesky_env(pds_url, pds_account))
    delivery, render = queue_file(thread_post(tmp_path, site), store, settings)
    clock = Clock()
    run_runner(runner_for(store, settings, clock, Wire(crash_on_create=3)), clock.now)
    stuck = store.get(delivery.id)
    assert stuck.state is State.PUBLISHING and len(stuck.progress["done"]) == 2
    assert set(stuck.progress["rkeys"]) == {"0", "1", "2"}
    assert len(records(pds_url, pds_account["did"])) == 3

    clock.advance(seconds=settings.lease_seconds + 1)
    after = Wire()
    assert run_runner(runner_for(store, settings, clock, after), clock.now) == 1
    assert after.calls.count(CREATE) == 2, "parts 4 and 5 only"
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED
    assert_thread(pds_url, pds_account["did"], render, done.remote_id)


# ---- check (postbot status) ----------------------------------------------------------------------------
def channel(pds_url: str, handle: str, password: str) -> Channel:
    return Channel("bluesky", "bluesky", "bluesky",
                   settings={"HANDLE": handle, "APP_PASSWORD": password, "SERVICE": pds_url})


def check(publisher: BlueskySender) -> str:
    return with_client(publisher.check, timeout=30)


@pds
def test_check_logs_in_once_then_refreshes(pds_url, pds_account):
    state = MemoryState()
    publisher = BlueskySender(channel(pds_url, pds_account["handle"], pds_account["password"]), state)
    assert check(publisher) == f"@{pds_account['handle']} ({pds_account['did']}) on {pds_url.split('//')[1]}"
    first = dict(state.data["session"])
    check(publisher)
    assert state.data["session"]["refreshJwt"] != first["refreshJwt"], "the second check refreshes"
    assert json.dumps(state.data).count(pds_account["password"]) == 0


@pds
def test_check_names_the_wrong_setting(pds_url, pds_account):
    wrong = BlueskySender(channel(pds_url, pds_account["handle"], "wrong-app-password"))
    with pytest.raises(ConfigError) as failure:
        check(wrong)
    assert "BLUESKY_APP_PASSWORD" in str(failure.value) and "wrong-app-password" not in str(failure.value)


def test_check_names_the_service_when_it_cannot_be_reached():
    import socket
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConfigError, match="BLUESKY_SERVICE"):
        check(BlueskySender(channel(f"http://127.0.0.1:{port}", "alice.test", "pw")))
    with pytest.raises(ConfigError, match="BLUESKY_APP_PASSWORD"):
        check(BlueskySender(Channel("bluesky", "bluesky", "bluesky", settings={"HANDLE": "alice.test"})))
