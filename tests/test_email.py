"""The email channel kind against a local STARTTLS submission server: what arrives, and each SMTP
failure mapped to what happens next (retry, fail naming the setting, or unknown when the message
may have been taken)."""
from __future__ import annotations

import pytest

from postbot.errors import ConfigError, Rejected, Retryable
from postbot.models import State
from postbot.platforms import make_sender
from tests.fakes.smtp import FakeSMTP, free_port
from tests.helpers import Clock, add_delivery, check, part, publish, run_once, settings_for, sqlite_store

TEXT = "Five hip thrust alternatives & why they work"


@pytest.fixture
def smtp(tmp_path):
    with FakeSMTP(tmp_path) as fake:
        yield fake


def sender_for(smtp, **change):
    settings = settings_for({"POSTBOT_CHANNELS": "mail=email", **smtp.settings(to="a@example.com, B <b@example.com>"),
                             **change})
    return make_sender(settings.channel("mail"), settings=settings)


def send(sender, key: str = "key-1"):
    return publish(sender, {"text": TEXT}, key=key, post={"slug": "p", "title": "Hip thrusts"}, part=part(TEXT, {"text": TEXT}))


def test_a_message_goes_over_starttls_after_login_with_a_message_id_from_the_delivery_key(smtp):
    published = send(sender_for(smtp), key="d41d8cd98f00b204")
    (mail,) = smtp.received
    assert mail.tls and mail.login == smtp.user
    assert mail.mail_from == "postbot@example.com" and mail.rcpt_tos == ["a@example.com", "b@example.com"]
    assert mail.message["Subject"] == "[postbot] Hip thrusts"
    assert mail.message["To"] == "a@example.com, b@example.com"
    assert mail.message["Message-ID"] == "<d41d8cd98f00b204@example.com>" == published.remote_id
    assert mail.message.get_content().strip() == TEXT


def test_the_credential_check_logs_in_and_sends_nothing(smtp):
    summary = check(sender_for(smtp))
    assert summary == (f"sends from postbot <postbot@example.com> to a@example.com, b@example.com via "
                       f"127.0.0.1:{smtp.port} (STARTTLS as {smtp.user})")
    assert smtp.received == []
    with pytest.raises(ConfigError) as failed:
        check(sender_for(smtp, MAIL_SMTP_PASSWORD="wrong-password"))
    assert "login refused (535" in str(failed.value) and "check MAIL_SMTP_USER and MAIL_SMTP_PASSWORD" in str(failed.value)
    assert "wrong-password" not in str(failed.value)


@pytest.mark.parametrize("change, error, words", [
    ({"MAIL_SMTP_PASSWORD": "wrong-password"}, Rejected, "login refused (535 5.7.8"),
    ({"MAIL_SMTP_CA_FILE": ""}, Rejected, "the server's certificate is not trusted"),
    ({"MAIL_SMTP_PORT": str(free_port())}, Retryable, "cannot connect"),
])
def test_failures_before_the_message_is_handed_over_are_not_sent(smtp, change, error, words):
    with pytest.raises(error) as raised:
        send(sender_for(smtp, **change))
    assert words in str(raised.value) and raised.value.sent is False
    assert smtp.received == []


@pytest.mark.parametrize("reply, error", [("451 4.3.0 Try again later", Retryable),
                                          ("554 5.7.1 Message rejected as spam", Rejected)])
def test_a_refused_message_was_not_taken(smtp, reply, error):
    smtp.refuse = reply
    with pytest.raises(error) as raised:
        send(sender_for(smtp))
    assert reply.split(" ", 1)[1] in str(raised.value) and raised.value.sent is False


def test_refused_recipients(smtp):
    smtp.unknown = {"b@example.com"}
    send(sender_for(smtp))                                  # the other one got it
    assert smtp.received[0].rcpt_tos == ["a@example.com"]
    smtp.unknown = {"a@example.com", "b@example.com"}
    with pytest.raises(Rejected) as raised:
        send(sender_for(smtp))
    assert "recipients refused (a@example.com: 550 5.1.1 No such user here; b@example.com: 550" in str(raised.value)
    assert "check MAIL_TO" in str(raised.value) and raised.value.sent is False


def test_a_server_without_starttls_is_refused_before_any_login(tmp_path):
    with FakeSMTP(tmp_path, starttls=False) as plain:
        with pytest.raises(Rejected) as raised:
            send(sender_for(plain))
    assert "does not offer STARTTLS" in str(raised.value) and raised.value.sent is False
    assert plain.received == []


def test_no_answer_to_the_message_makes_the_delivery_unknown_never_resent(tmp_path, smtp):
    store, clock = sqlite_store(tmp_path), Clock()
    settings = settings_for({"POSTBOT_CHANNELS": "mail=email", **smtp.settings(),
                             "POSTBOT_REQUEST_DEADLINE_SECONDS": "1"})
    delivery = add_delivery(store, "mail", [part(TEXT, {"text": TEXT})], platform="generic")
    smtp.hold.set()
    try:
        run_once(store, settings, clock)
    finally:
        smtp.hold.clear()
    unknown = store.get(delivery.id)
    assert unknown.state is State.UNKNOWN and "may have been delivered" in unknown.error
    clock.advance(hours=1)
    run_once(store, settings, clock)
    assert store.get(delivery.id).state is State.UNKNOWN


def test_published_through_the_runner_and_failures_never_store_the_password(tmp_path, smtp):
    store, clock = sqlite_store(tmp_path), Clock()
    env = {"POSTBOT_CHANNELS": "mail=email", **smtp.settings()}
    sent = add_delivery(store, "mail", [part(TEXT, {"text": TEXT})], platform="generic", slug="ok")
    run_once(store, settings_for(env), clock)
    assert store.get(sent.id).state is State.PUBLISHED
    refused = add_delivery(store, "mail", [part(TEXT, {"text": TEXT})], platform="generic", slug="refused")
    run_once(store, settings_for({**env, "MAIL_SMTP_PASSWORD": "not-the-password-4567"}), clock)
    failed = store.get(refused.id)
    assert failed.state is State.FAILED and "login refused" in failed.error
    assert "not-the-password-4567" not in failed.error and smtp.password not in failed.error
