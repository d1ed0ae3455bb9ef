"""The LinkedIn adapter against a strict local LinkedIn (tests/fakes/linkedin.py) and through the runner."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from postbot.errors import ConfigError, RateLimited, Rejected, Retryable
from postbot.models import Channel, Post, State
from postbot.platforms.base import Prepared
from postbot.platforms.linkedin import (LinkedInSender, escape_little_text, next_midnight_utc,
                                         unescape_little_text)
from tests.fakes.linkedin import LinkedInFake, parse_little_text
from tests.fakes.server import Reply
from tests.helpers import (NOW, Clock, add_delivery, assert_unknown, crash_mid_publish, part, publish, queue_post,
                           run_once, seed_post, settings_for, sqlite_store, with_client)

UTC = timezone.utc
TOKEN = "AQX-linkedin-token-1"
RESERVED_TEXT = ("Hip Thrust (really?) #glutes @coach [1] {x} <b> *bold* _under_ ~strike~ a|b back\\slash "
                 "https://example.com/p?utm_source=linkedin&utm_medium=social")


@pytest.fixture
def fake():
    with LinkedInFake(today=NOW.date()) as server:
        server.member(TOKEN, sub="abc123XYZ", organizations=("4242",))
        yield server


def channel(fake: LinkedInFake, **settings: str) -> Channel:
    values = {"API_URL": fake.url, "ACCESS_TOKEN": TOKEN, "AUTHOR": "urn:li:person:abc123XYZ",
              "VERSION": "202611"}
    values.update(settings)
    return Channel("linkedin", "linkedin", "linkedin", settings={k: v for k, v in values.items() if v is not None})


def payload_for(text: str, publisher: LinkedInSender, url: str | None = "https://example.com/hip-thrust") -> dict:
    post = Post(source="post.md", slug="hip-thrust", title="The Hip Thrust (again)", body="A body.", url=url)
    # prepare() is escape_little_text plus link finding; the renderer path is tested end to end.
    return publisher.rules.build_payload(Prepared(escape_little_text(text), []), post)


def check(publisher):
    return with_client(lambda client: publisher.check(client, now=NOW))


# ---- escaping: what LinkedIn stores is what we meant ------------------------------------------------
def test_every_reserved_character_survives_little_text_parsing(fake):
    publisher = LinkedInSender(channel(fake))
    published = publish(publisher, payload_for(RESERVED_TEXT, publisher))
    stored = fake.posts[published.remote_id]
    assert stored["commentary"] == RESERVED_TEXT            # nothing cut, nothing added
    assert "utm\\_source" in stored["raw"]                  # escaped inside the URL too


def test_the_fake_truncates_unescaped_text_like_linkedin_does(fake):
    publisher = LinkedInSender(channel(fake))
    payload = payload_for("x", publisher)
    payload["commentary"] = "Before (after"
    published = publish(publisher, payload)
    assert fake.posts[published.remote_id]["commentary"] == "Before "


def test_escape_round_trip_and_fold_maps_into_escaped_text():
    text = "a_b (c) \\ #d"
    assert unescape_little_text(escape_little_text(text)) == text
    assert parse_little_text(escape_little_text(text)) == text
    publisher = LinkedInSender(Channel("linkedin", "linkedin", "linkedin"))
    prepared = Prepared(escape_little_text("_" * 300), [])
    assert publisher.rules.fold_index(prepared) == 420          # 210 shown characters, each escaped


# ---- the request ---------------------------------------------------------------------------------
def test_publish_sends_the_documented_request_and_reads_the_urn_header(fake):
    publisher = LinkedInSender(channel(fake))
    published = publish(publisher, payload_for("Hello LinkedIn", publisher))
    assert published.remote_id.startswith("urn:li:share:")
    assert published.remote_url == f"https://www.linkedin.com/feed/update/{published.remote_id}/"
    [request] = [r for r in fake.requests if r.path == "/rest/posts"]
    assert request.headers["linkedin-version"] == "202611"
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    body = request.json()
    assert body["author"] == "urn:li:person:abc123XYZ" and body["lifecycleState"] == "PUBLISHED"
    article = body["content"]["article"]
    # Title and description are plain strings, not little text: no backslashes reach the card.
    assert article == {"source": "https://example.com/hip-thrust", "title": "The Hip Thrust (again)",
                       "description": "A body."}


def test_organization_author_from_settings_replaces_the_preview_placeholder(fake):
    publisher = LinkedInSender(channel(fake, AUTHOR="urn:li:organization:4242"))
    payload = payload_for("Org post", LinkedInSender(Channel("linkedin", "linkedin", "linkedin")))
    assert payload["author"] == "urn:li:person:UNSET"
    published = publish(publisher, payload)
    assert fake.posts[published.remote_id]["author"] == "urn:li:organization:4242"


def test_long_description_is_cut_at_a_word():
    publisher = LinkedInSender(Channel("linkedin", "linkedin", "linkedin"))
    post = Post(source="p.md", slug="s", title="T", body="word " * 100, url="https://example.com/")
    description = publisher.rules.build_payload(Prepared("x", []), post)["content"]["article"]["description"]
    assert len(description) <= 200 and description.endswith("word…")


# ---- errors -------------------------------------------------------------------------------------
def test_duplicate_post_counts_as_already_published(fake):
    publisher = LinkedInSender(channel(fake))
    first = publish(publisher, payload_for("Same words", publisher))
    again = publish(publisher, payload_for("Same words", publisher))
    assert again.remote_id == first.remote_id and again.extra["duplicate"] is True
    assert len(fake.posts) == 1


def test_duplicate_without_an_urn_is_recorded_as_duplicate(fake):
    fake.script.append(Reply(422, {"status": 422, "message": "Duplicate",
                                   "errorDetails": {"inputErrors": [{"code": "DUPLICATE_POST"}]}}))
    publisher = LinkedInSender(channel(fake))
    published = publish(publisher, payload_for("x", publisher))
    assert published.remote_id == "duplicate" and "duplicate" in published.extra["note"]


def test_other_422_is_rejected_not_mistaken_for_a_duplicate(fake):
    publisher = LinkedInSender(channel(fake))
    payload = dict(payload_for("x", publisher), mood="happy")
    with pytest.raises(Rejected, match="unrecognized field"):
        publish(publisher, payload)


def test_retired_version_is_rejected_with_the_setting_to_change(fake):
    publisher = LinkedInSender(channel(fake, VERSION="202301"))
    with pytest.raises(Rejected) as caught:
        publish(publisher, payload_for("x", publisher))
    assert caught.value.status == 426
    assert "Requested version 202301 is not active" in str(caught.value)
    assert "LINKEDIN_VERSION" in str(caught.value)


def test_expired_token_is_rejected_naming_the_variable_without_the_secret(fake):
    fake.member("expired-token-9", expired=True)
    publisher = LinkedInSender(channel(fake, ACCESS_TOKEN="expired-token-9"))
    with pytest.raises(Rejected) as caught:
        publish(publisher, payload_for("x", publisher))
    assert "LINKEDIN_ACCESS_TOKEN" in str(caught.value) and "expired" in str(caught.value)
    assert "expired-token-9" not in str(caught.value)


def test_429_waits_until_midnight_utc_unless_retry_after(fake):
    publisher = LinkedInSender(channel(fake))
    fake.script.append(Reply(429, {"status": 429, "message": "Resource level throttle APPLICATION DAY limit "
                                                             "for calls to this resource is reached."}))
    with pytest.raises(RateLimited) as caught:
        publish(publisher, payload_for("x", publisher))
    assert caught.value.until == datetime(2026, 12, 2, tzinfo=UTC) == next_midnight_utc(NOW)
    fake.script.append(Reply(429, {"status": 429, "message": "slow down"}, {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        publish(publisher, payload_for("x", publisher))
    assert caught.value.until == NOW + timedelta(seconds=120)


def test_over_3000_is_rejected_with_linkedins_message(fake):
    publisher = LinkedInSender(channel(fake))
    with pytest.raises(Rejected, match=r"exceeded the maximum allowed \(3000"):
        publish(publisher, payload_for("(" * 1501, publisher))    # 3002 once escaped


def test_5xx_is_retryable_and_may_have_landed(fake):
    fake.script.append(Reply(503, {"status": 503, "message": "Service Unavailable"}))
    publisher = LinkedInSender(channel(fake))
    with pytest.raises(Retryable) as caught:
        publish(publisher, payload_for("x", publisher))
    assert caught.value.sent is True


# ---- settings and check() -----------------------------------------------------------------------
@pytest.mark.parametrize("author", ["abc123", "urn:li:company:1", "urn:li:person:", "urn:li:organization:1 2"])
def test_bad_author_urn_is_refused_at_queue_time(author):
    publisher = LinkedInSender(Channel("linkedin", "linkedin", "linkedin",
                                          settings={"ACCESS_TOKEN": "t", "AUTHOR": author}))
    refusal = publisher.refuse(Post(source="p.md", slug="s", title="T", body="b"))
    assert refusal and "LINKEDIN_AUTHOR" in refusal and "urn:li:person:<id>" in refusal


def test_bad_version_is_refused():
    publisher = LinkedInSender(Channel("linkedin", "linkedin", "linkedin",
                                          settings={"AUTHOR": "urn:li:person:a", "VERSION": "2026-11"}))
    assert "LINKEDIN_VERSION" in publisher.refuse(Post(source="p.md", slug="s", title="T", body="b"))


def test_check_names_the_member_and_has_no_warnings_when_current(fake):
    result = check(LinkedInSender(channel(fake)))
    assert "Lewis Robinson" in result and result.warnings == []


def test_check_warns_about_an_ageing_version_and_an_expiring_token(fake):
    publisher = LinkedInSender(channel(fake, VERSION="202601", TOKEN_EXPIRES_AT="2026-12-05"))
    result = check(publisher)
    assert any("LINKEDIN_VERSION=202601 is 11 months old" in w for w in result.warnings)
    # 2026-12-05 00:00 is 3 days and 15 hours after NOW: whole days left, counted as describe() and alerts count them
    assert any("expires in 3 day(s) (2026-12-05)" in w and "LINKEDIN_ACCESS_TOKEN" in w for w in result.warnings)
    assert check(LinkedInSender(channel(fake, VERSION="202603", TOKEN_EXPIRES_AT="2026-12-20"))).warnings == []


def test_check_accepts_a_token_without_openid_and_refuses_a_bad_one(fake):
    fake.member("posting-only", scopes=("w_member_social",))
    assert "token accepted" in check(LinkedInSender(channel(fake, ACCESS_TOKEN="posting-only")))
    with pytest.raises(ConfigError, match="LINKEDIN_ACCESS_TOKEN") as caught:
        check(LinkedInSender(channel(fake, ACCESS_TOKEN="wrong-token-123")))
    assert "wrong-token-123" not in str(caught.value)


# ---- through the runner ----------------------------------------------------------------------------
def env_for(fake: LinkedInFake, **extra: str) -> dict[str, str]:
    env = {"POSTBOT_CHANNELS": "linkedin", "LINKEDIN_API_URL": fake.url, "LINKEDIN_ACCESS_TOKEN": TOKEN,
           "LINKEDIN_AUTHOR": "urn:li:person:abc123XYZ", "LINKEDIN_VERSION": "202611", "POSTBOT_MAX_ATTEMPTS": "3"}
    env.update(extra)
    return env


def add(store, text: str):
    publisher = LinkedInSender(Channel("linkedin", "linkedin", "linkedin",
                                          settings={"AUTHOR": "urn:li:person:abc123XYZ"}))
    payload = payload_for(text, publisher)
    return add_delivery(store, "linkedin", [part(payload["commentary"], payload, length=len(text))],
                        slug="hip-thrust", source="post.md", url="https://example.com/hip-thrust")


def test_runner_publishes_and_records_the_urn(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store, RESERVED_TEXT)
    assert run_once(store, settings_for(env_for(fake)), clock) == 1
    done = store.get(delivery.id)
    assert done.state is State.PUBLISHED
    [urn] = fake.posts
    assert done.remote_id == urn and done.remote_url.endswith(f"/feed/update/{urn}/")
    assert fake.posts[urn]["commentary"] == RESERVED_TEXT


def test_runner_holds_the_channel_until_midnight_on_429(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store, "rate limited")
    fake.script.append(Reply(429, {"status": 429, "message": "Daily limit reached"}))
    run_once(store, settings_for(env_for(fake)), clock)
    again = store.get(delivery.id)
    midnight = datetime(2026, 12, 2, tzinfo=UTC)
    assert again.state is State.SCHEDULED and again.next_attempt_at == midnight
    assert "linkedin" in store.holds(NOW)
    clock.now = midnight
    assert run_once(store, settings_for(env_for(fake)), clock) == 1
    assert len(fake.posts) == 1


def test_runner_fails_at_once_on_a_retired_version(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store, "old version")
    run_once(store, settings_for(env_for(fake, LINKEDIN_VERSION="202310")), clock)
    done = store.get(delivery.id)
    assert done.state is State.FAILED and "LINKEDIN_VERSION" in done.error and "not active" in done.error


def test_runner_5xx_leaves_the_delivery_unknown_not_resent(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store, "server trouble")
    fake.script.append(Reply(500, {"status": 500, "message": "Internal Server Error"}))
    run_once(store, settings_for(env_for(fake)), clock)
    assert_unknown(store, delivery.id)
    clock.advance(hours=1)
    run_once(store, settings_for(env_for(fake)), clock)
    assert len([r for r in fake.requests if r.path == "/rest/posts"]) == 1


def test_crash_mid_publish_becomes_unknown_and_is_never_sent_twice(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    delivery = add(store, "crashed while sending")
    crash_mid_publish(store)
    clock.advance(minutes=5)
    run_once(store, settings_for(env_for(fake)), clock)
    assert_unknown(store, delivery.id, "postbot retry")
    assert not [r for r in fake.requests if r.path == "/rest/posts"]


# ---- rendered, queued and published: the whole pipeline ------------------------------------------
def rendered_post():
    from postbot.models import CTA
    return Post(source="post.md", slug="hip-thrust", title="The Hip Thrust (is it worth it?)",
                body="Opinions are divided (is it worth it?): it's like Marmite - you love it or hate it. The B***Y WORKOUT "
                     "<everywhere> [sic] #gymlife @coach_lewis ~ {really}.",
                url="https://lewisrobinsonfitness.com/blog/hip-thrust",
                ctas=[CTA("Personal Training", "https://lewisrobinsonfitness.com/personaltraining"),
                      CTA("Online Coaching", "https://lewisrobinsonfitness.mypthub.net/p/212107")],
                tags=["fitness", "glutes"])


def test_queued_render_reaches_linkedin_exactly_as_written(tmp_path, fake):
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for(env_for(fake))
    delivery, _ = queue_post(rendered_post(), store, settings)
    assert run_once(store, settings, clock) == 1
    [stored] = fake.posts.values()
    meant = unescape_little_text(delivery.parts[0].text)
    assert stored["commentary"] == meant                       # not cut short anywhere
    for piece in ("(is it worth it?)", "B***Y WORKOUT <everywhere> [sic] #gymlife @coach_lewis ~ {really}.",
                  "personaltraining?utm_source=linkedin&utm_medium=social&utm_campaign=hip-thrust",
                  "#fitness #glutes"):
        assert piece in stored["commentary"]
    assert stored["content"]["article"]["title"] == "The Hip Thrust (is it worth it?)"
    assert stored["hashtags"] == ["gymlife", "fitness", "glutes"]  # live hashtags, not escaped text
    assert store.get(delivery.id).state is State.PUBLISHED


def test_hashtags_of_any_script_reach_linkedin_as_hashtags(tmp_path, fake):
    from dataclasses import replace
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for(env_for(fake))
    post = replace(rendered_post(), tags=["Récupération", "योग", "hip_thrust", "💪gains"])
    delivery, _ = queue_post(post, store, settings)
    assert run_once(store, settings, clock) == 1
    [stored] = fake.posts.values()
    assert stored["hashtags"] == ["gymlife", "Récupération", "योग", "hip_thrust", "gains"]
    assert "#Récupération #योग #hip\\_thrust #gains" in stored["raw"]


def test_bad_author_stops_the_queue_with_the_variable_named(tmp_path, fake):
    from postbot.app import plan
    settings = settings_for(env_for(fake, LINKEDIN_AUTHOR="lewis"))
    with pytest.raises(ConfigError, match="LINKEDIN_AUTHOR='lewis' is not a LinkedIn author URN"):
        plan(rendered_post(), list(settings.channels), settings, at="now", now=NOW, store=sqlite_store(tmp_path))


def test_the_seed_article_fits_and_reaches_linkedin_unbroken(tmp_path, fake):
    from postbot.render import Renderer
    settings = settings_for(env_for(fake))
    for repair in (False, True):
        render = Renderer().render(seed_post(repair=repair), settings.channel("linkedin"))
        assert render.fits and render.length <= 3000
    post = seed_post(repair=True)
    post.teaser_strategy = "lead"      # the opening paragraphs carry the asterisks LinkedIn must see escaped
    store, clock = sqlite_store(tmp_path), Clock()
    delivery, _ = queue_post(post, store, settings)
    assert run_once(store, settings, clock) == 1
    [stored] = fake.posts.values()
    assert stored["commentary"] == unescape_little_text(delivery.parts[0].text)
    assert "THAT B***y" in stored["commentary"] and "\\*" in stored["raw"]
    assert stored["commentary"].rstrip().endswith("utm_campaign=" + post.slug)
