"""Telegram: the adapter against a strict local Bot API, then the whole pipeline through the runner."""
from __future__ import annotations

from datetime import timedelta

import pytest

from postbot.errors import ConfigError, RateLimited, Rejected, Retryable
from postbot.models import Post, State
from postbot.platforms.base import MemoryState, Prepared
from postbot.platforms.telegram import TelegramSender
from tests.fakes.webpages import png
from tests.fakes.telegram import TOKEN, FakeTelegram, ParseError, parse_html, utf16_units
from tests.helpers import (NOW, Clock, assert_unknown, call_adapter, check, queue_seed, run_after_a_crash, run_once,
                           run_through_an_outage, seed_post, settings_for)

PRIVATE = "-1001234567890"


@pytest.fixture
def fake():
    with FakeTelegram() as server:
        yield server


def env(fake, **extra) -> dict[str, str]:
    values = {"POSTBOT_CHANNELS": "telegram", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": PRIVATE,
              "TELEGRAM_API_URL": fake.url}
    values.update(extra)
    return values


def publisher(fake, state=None, **extra) -> TelegramSender:
    return TelegramSender(settings_for(env(fake, **extra)).channel("telegram"), state or MemoryState())


def publish(sender: TelegramSender, payload: dict):
    return call_adapter(sender, "publish", payload, state=sender.state)


def message(text: str, chat: str = PRIVATE) -> dict:
    return {"chat_id": chat, "text": text, "parse_mode": "HTML",
            "link_preview_options": {"url": "https://example.com/a", "prefer_large_media": True}}


# ---- the fake is as strict as Telegram's documented HTML rules ---------------------------------------
def test_fake_parses_html_like_telegram():
    visible, entities = parse_html('<b>Hip &amp; Thrust</b> &lt;3 <a href="https://e.com/?a=1&amp;b=2">go</a> &#128512;')
    assert visible == "Hip & Thrust <3 go \U0001F600"
    assert entities[0] == {"type": "bold", "offset": 0, "length": 12}
    assert entities[1] == {"type": "text_link", "offset": 16, "length": 2, "url": "https://e.com/?a=1&b=2"}
    for bad in ("a < b", "a > b", "Q&A", "<div>x</div>", "<b>open", "<b>x</i>", '<span class="x">s</span>', "&nbsp;"):
        with pytest.raises(ParseError):
            parse_html(bad)


# ---- adapter against the fake ------------------------------------------------------------------------
def test_send_message_to_a_private_supergroup(fake):
    published = publish(publisher(fake), message("<b>Title</b>\n\nBody &amp; more"))
    [request] = fake.requests
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"chat_id": int(PRIVATE), "text": "<b>Title</b>\n\nBody &amp; more",
                              "parse_mode": "HTML",
                              "link_preview_options": {"url": "https://example.com/a", "prefer_large_media": True}}
    assert fake.sent[0].visible == "Title\n\nBody & more"
    assert published.remote_id == str(fake.sent[0].message_id)
    assert published.remote_url == f"https://t.me/c/1234567890/{published.remote_id}"


def test_public_channel_links_by_username(fake):
    published = publish(publisher(fake, TELEGRAM_CHAT_ID="@postbot_news"), message("hello", "@postbot_news"))
    assert fake.requests[0].json()["chat_id"] == "@postbot_news"
    assert published.remote_url == f"https://t.me/postbot_news/{published.remote_id}"


def test_chat_id_is_read_when_publishing_so_a_fixed_setting_applies_to_queued_posts(fake):
    publish(publisher(fake, TELEGRAM_CHAT_ID="@postbot_news"), message("hello", chat="-42"))
    assert fake.requests[0].json()["chat_id"] == "@postbot_news"


def test_local_image_is_uploaded_as_multipart_with_its_caption(fake, tmp_path):
    image = tmp_path / "squat.png"
    image.write_bytes(png(2, 2))
    published = publish(publisher(fake), {"chat_id": PRIVATE, "photo": str(image), "caption": "<i>Squat</i>",
                                          "parse_mode": "HTML"})
    [request] = fake.requests
    assert request.path.endswith("/sendPhoto")
    assert request.headers["content-type"].startswith("multipart/form-data")
    sent = fake.sent[0]
    assert sent.photo == image.read_bytes() and sent.visible == "Squat"
    assert sent.fields["chat_id"] == PRIVATE and sent.fields["parse_mode"] == "HTML"
    assert published.remote_id == str(sent.message_id)


def test_image_url_is_passed_as_photo(fake):
    publish(publisher(fake), {"chat_id": PRIVATE, "photo": "https://cdn.example/a.jpg", "caption": "c",
                              "parse_mode": "HTML"})
    assert fake.requests[0].json()["photo"] == "https://cdn.example/a.jpg"


def test_caption_limit_counts_utf16_after_parsing(fake):
    sender = publisher(fake)
    fits = "<b>" + "\U0001F600" * 512 + "</b>"            # 1024 UTF-16 units once the tags are gone
    publish(sender, {"chat_id": PRIVATE, "photo": "https://cdn.example/a.jpg", "caption": fits, "parse_mode": "HTML"})
    with pytest.raises(Rejected) as caught:
        publish(sender, {"chat_id": PRIVATE, "photo": "https://cdn.example/a.jpg", "caption": fits + "x",
                         "parse_mode": "HTML"})
    assert "message caption is too long" in str(caught.value)
    assert len(fake.sent) == 1


def test_unescaped_markup_is_rejected_with_a_fix(fake):
    with pytest.raises(Rejected) as caught:
        publish(publisher(fake), message("Q&A <3"))
    assert "can't parse entities" in str(caught.value) and "template" in str(caught.value)
    assert caught.value.status == 400 and not fake.sent


def test_migrated_group_is_followed_once_and_remembered(fake):
    fake.migrations[-4001] = int(PRIVATE)
    sender = publisher(fake, TELEGRAM_CHAT_ID="-4001")
    first = publish(sender, message("one", chat="-4001"))
    assert [r.json()["chat_id"] for r in fake.requests] == [-4001, int(PRIVATE)]
    assert sender.state.get("migrated_chat") == {"from": "-4001", "to": PRIVATE}
    assert first.remote_url.startswith("https://t.me/c/1234567890/")
    publish(sender, message("two", chat="-4001"))
    assert [r.json()["chat_id"] for r in fake.requests][2:] == [int(PRIVATE)]
    assert [s.visible for s in fake.sent] == ["one", "two"]


def test_a_new_chat_setting_wins_over_a_remembered_migration(fake):
    state = MemoryState()
    state.set("migrated_chat", {"from": "-4001", "to": PRIVATE})
    publish(publisher(fake, state, TELEGRAM_CHAT_ID="@postbot_news"), message("x"))
    assert fake.requests[0].json()["chat_id"] == "@postbot_news"


def test_429_waits_for_retry_after(fake):
    fake.rate_limit = 17
    with pytest.raises(RateLimited) as caught:
        publish(publisher(fake), message("hi"))
    assert caught.value.until == NOW + timedelta(seconds=17)


def test_errors_say_what_to_fix_and_never_show_the_token(fake):
    fake.chats[PRIVATE].bot_member = False
    cases = [({"TELEGRAM_BOT_TOKEN": "123456789:AAHsomeOtherTokenThatIsWrong_xyz"}, 401, "TELEGRAM_BOT_TOKEN"),
             ({}, 403, "add the bot to the chat in TELEGRAM_CHAT_ID"),
             ({"TELEGRAM_CHAT_ID": "-100555"}, 400, "check TELEGRAM_CHAT_ID")]
    for extra, status, fix in cases:
        with pytest.raises(Rejected) as caught:
            publish(publisher(fake, **extra), message("hi", chat=extra.get("TELEGRAM_CHAT_ID", PRIVATE)))
        assert caught.value.status == status and fix in str(caught.value)
        assert "AAH" not in str(caught.value) and fake.url not in str(caught.value)


def test_unreachable_api_is_retryable_and_hides_the_url(fake):
    with pytest.raises(Retryable) as caught:
        publish(publisher(fake, TELEGRAM_API_URL="http://127.0.0.1:9"), message("hi"))
    assert caught.value.sent is False and "AAH" not in str(caught.value) and "127.0.0.1" not in str(caught.value)


def test_malformed_token_is_refused_without_a_request(fake):
    with pytest.raises(ConfigError) as caught:          # a setting to fix: nothing was sent
        publish(publisher(fake, TELEGRAM_BOT_TOKEN="not a token/../x"), message("hi"))
    assert "TELEGRAM_BOT_TOKEN" in str(caught.value) and not fake.requests


def test_check_calls_get_me(fake):
    assert check(publisher(fake)) == f"bot @postbot_test_bot posting to {PRIVATE}"
    assert fake.requests[-1].path == f"/bot{TOKEN}/getMe"
    with pytest.raises(ConfigError) as caught:
        check(publisher(fake, TELEGRAM_BOT_TOKEN="123456789:AAHsomeOtherTokenThatIsWrong_xyz"))
    assert "TELEGRAM_BOT_TOKEN" in str(caught.value) and "AAHsome" not in str(caught.value)
    with pytest.raises(ConfigError, match="TELEGRAM_CHAT_ID"):
        check(TelegramSender(settings_for({"POSTBOT_CHANNELS": "telegram", "TELEGRAM_BOT_TOKEN": TOKEN})
                                .channel("telegram")))


def test_link_preview_setting(fake):
    post = Post(source="p.md", slug="p", title="T", body="b", url="https://example.com/p")
    on = publisher(fake).rules.build_payload(Prepared("t", []), post)
    off = publisher(fake, TELEGRAM_LINK_PREVIEW="off").rules.build_payload(Prepared("t", []), post)
    assert on["link_preview_options"] == {"url": "https://example.com/p", "prefer_large_media": True}
    assert off["link_preview_options"] == {"is_disabled": True}


def test_missing_local_image_is_refused_at_queue_time(fake, tmp_path):
    post = Post(source=str(tmp_path / "p.md"), slug="p", title="T", body="b", image="missing.png")
    assert "missing.png" in publisher(fake).refuse(post)
    (tmp_path / "missing.png").write_bytes(b"x")
    assert publisher(fake).refuse(post) is None
    assert publisher(fake).rules.build_payload(Prepared("t", []), post)["photo"] == str(tmp_path / "missing.png")


# ---- the seed through the real pipeline: render, queue, run --------------------------------------------
def test_seed_preview_fits_as_telegram_counts_it():
    from postbot.render import Renderer
    channel = settings_for({"POSTBOT_CHANNELS": "telegram"}).channel("telegram")
    render = Renderer().render(seed_post(), channel)
    visible, entities = parse_html(render.text)             # the fake's parser raises on bad markup
    assert render.fits and render.length == utf16_units(visible) <= render.limit == 4096
    assert {e["url"] for e in entities if e["type"] == "text_link"} <= set(render.links)


def test_seed_is_published_once_by_the_runner(tmp_path, fake):
    settings = settings_for(env(fake))
    store, delivery, render = queue_seed(tmp_path, settings)
    assert run_once(store, settings, Clock()) == 1
    done = store.get(delivery.id)
    [sent] = fake.sent
    assert done.state is State.PUBLISHED and done.remote_id == str(sent.message_id)
    assert done.remote_url == f"https://t.me/c/1234567890/{sent.message_id}"
    assert len(fake.requests) == 1 and fake.requests[0].json()["text"] == render.text
    assert sent.visible == parse_html(render.text)[0]


def test_migration_is_remembered_in_the_store(tmp_path, fake):
    fake.migrations[-4001] = int(PRIVATE)
    settings = settings_for(env(fake, TELEGRAM_CHAT_ID="-4001"))
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_once(store, settings, Clock())
    assert store.get(delivery.id).state is State.PUBLISHED and len(fake.sent) == 1
    assert store.state_get("telegram", "migrated_chat") == {"from": "-4001", "to": PRIVATE}


def test_rate_limit_holds_the_channel_until_retry_after(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    fake.rate_limit = 30
    run_once(store, settings, clock)
    held = store.get(delivery.id)
    assert held.state is State.SCHEDULED and held.next_attempt_at == NOW + timedelta(seconds=30)
    assert store.holds(clock())["telegram"][0] == NOW + timedelta(seconds=30)
    fake.rate_limit = None
    clock.advance(seconds=29)
    assert run_once(store, settings, clock) == 0
    clock.advance(seconds=1)
    assert run_once(store, settings, clock) == 1 and len(fake.sent) == 1


def test_bad_chat_fails_at_once_with_telegrams_words(tmp_path, fake):
    settings = settings_for(env(fake, TELEGRAM_CHAT_ID="-100555"))
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_once(store, settings, Clock())
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and "chat not found" in failed.error and "TELEGRAM_CHAT_ID" in failed.error
    assert TOKEN not in failed.error


def test_server_error_leaves_it_unknown_and_never_resends(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_through_an_outage(fake, 502, store, settings, clock, delivery.id)
    assert len(fake.requests) == 1 and not fake.sent


def test_crash_mid_publish_becomes_unknown_without_a_second_post(tmp_path, fake):
    settings, clock = settings_for(env(fake)), Clock()
    store, delivery, _ = queue_seed(tmp_path, settings)
    run_after_a_crash(store, settings, clock)
    assert_unknown(store, delivery.id, f"postbot retry {delivery.id}")
    assert not fake.requests
