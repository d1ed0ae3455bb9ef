"""Webhook signatures (issue 17.10): X-Postbot-Signature t=<unix seconds>,v1=<HMAC-SHA256 of
"<t>.<Idempotency-Key>.<body>">, so a captured request cannot be replayed later nor under another key.
The strict receiver (tests/fakes/webhook.py) checks it with the snippet in docs/webhooks.md, so every
webhook test runs the documented verifier."""
from __future__ import annotations

import hashlib
import hmac
import re

import httpx
import pytest

from postbot.models import State
from tests.fakes.server import Reply
from tests.fakes.webhook import TOLERANCE_SECONDS, WebhookReceiver, documented_snippet
from tests.helpers import NOW, Clock, add_delivery, part, run_once, settings_for, sqlite_store

SECRET = "s3cret-value"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def receiver(clock):
    with WebhookReceiver(SECRET, clock=lambda: clock.now.timestamp()) as server:
        yield server


def publish_one(tmp_path, receiver, clock, **runner_options):
    store = sqlite_store(tmp_path)
    delivery = add_delivery(store, "hooks", [part("hello world", {"text": "hello world"})], platform="generic")
    settings = settings_for({"POSTBOT_CHANNELS": "hooks=webhook", "HOOKS_URL": receiver.hook_url,
                             "HOOKS_SECRET": SECRET})
    run_once(store, settings, clock, **runner_options)
    return store, delivery, settings


def v1(timestamp: int, key: str, body: bytes) -> str:
    return hmac.new(SECRET.encode(), f"{timestamp}.{key}.".encode() + body, hashlib.sha256).hexdigest()


def replay(receiver, request, **changes: str | bytes) -> httpx.Response:
    """Send a captured request again, as an eavesdropper would, optionally altered."""
    headers = {name: value for name, value in request.headers.items() if name not in ("host", "content-length")}
    headers.update({name: value for name, value in changes.items() if name != "body"})
    return httpx.post(receiver.hook_url, content=changes.get("body", request.body), headers=headers, timeout=5)


def test_the_signature_covers_the_timestamp_the_key_and_the_body(tmp_path, receiver, clock):
    store, delivery, _ = publish_one(tmp_path, receiver, clock)
    assert store.get(delivery.id).state is State.PUBLISHED and receiver.refused == []
    (request,) = receiver.requests
    stamp = int(NOW.timestamp())
    assert request.headers["idempotency-key"] == delivery.idempotency_key
    assert request.headers["x-postbot-signature"] == f"t={stamp},v1={v1(stamp, delivery.idempotency_key, request.body)}"


def test_a_captured_request_is_refused_after_the_tolerance_and_dropped_as_a_repeat_before(tmp_path, receiver, clock):
    publish_one(tmp_path, receiver, clock)
    (captured,) = receiver.requests
    key = captured.headers["idempotency-key"]
    # Within the tolerance: accepted as a repeat of a key already taken, stored once.
    clock.advance(seconds=TOLERANCE_SECONDS)
    assert replay(receiver, captured).status_code == 200
    assert receiver.keys_seen[key] == 2 and list(receiver.stored) == [key]
    # Under another key, or with another body: the signature no longer matches.
    assert replay(receiver, captured, **{"idempotency-key": "another-key"}).status_code == 401
    assert replay(receiver, captured, body=captured.body.replace(b"hello", b"HELLO")).status_code == 401
    # A second past the tolerance: refused, whatever it carries.
    clock.advance(seconds=1)
    assert replay(receiver, captured).status_code == 401
    assert receiver.refused == ["bad signature", "bad signature", "signature timestamp outside the tolerance"]
    assert list(receiver.stored) == [key] and receiver.keys_seen[key] == 2


def test_a_retry_long_after_the_first_attempt_is_signed_anew_with_the_same_key(tmp_path, receiver, clock):
    receiver.script = [Reply(503, {"error": "busy"})]
    store, delivery, settings = publish_one(tmp_path, receiver, clock, backoff_base=3600)
    assert store.get(delivery.id).state is State.SCHEDULED
    clock.advance(hours=1)
    assert run_once(store, settings, clock) == 1
    first, second = (request.headers["x-postbot-signature"] for request in receiver.requests)
    stamps = [int(re.match(r"t=(\d+),v1=[0-9a-f]{64}$", value).group(1)) for value in (first, second)]
    assert stamps[1] - stamps[0] == 3600 and receiver.refused == []
    assert receiver.keys_seen[delivery.idempotency_key] == 2 and store.get(delivery.id).state is State.PUBLISHED


def test_a_receiver_that_refuses_the_signature_fails_the_delivery_saying_where_to_look(tmp_path, clock):
    with WebhookReceiver("a-different-secret", clock=lambda: clock.now.timestamp()) as receiver:
        store, delivery, _ = publish_one(tmp_path, receiver, clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and receiver.refused == ["bad signature"]
    assert "HOOKS_SECRET" in failed.error and "docs/webhooks.md" in failed.error and SECRET not in failed.error
    # The 401 is the receiver's word, kept as it said it: a webhook has no credentials to refresh.
    assert failed.error.startswith("webhook hooks answered 401: bad signature; check HOOKS_URL and HOOKS_SECRET")


def test_a_403_fails_the_delivery_with_the_receivers_message_and_the_fix(tmp_path, receiver, clock):
    receiver.script = [Reply(403, {"error": "this hook is paused"})]
    store, delivery, _ = publish_one(tmp_path, receiver, clock)
    failed = store.get(delivery.id)
    assert failed.state is State.FAILED and len(receiver.requests) == 1
    assert failed.error.startswith("webhook hooks answered 403: this hook is paused; check HOOKS_URL and HOOKS_SECRET")


def test_the_snippet_in_the_docs_verifies_what_postbot_sends(tmp_path, receiver, clock):
    publish_one(tmp_path, receiver, clock)
    (request,) = receiver.requests
    docs = documented_snippet()
    signature, key, body = request.headers["x-postbot-signature"], request.headers["idempotency-key"], request.body
    at = NOW.timestamp()
    assert docs["verify"](SECRET, signature, key, body, now=at)
    assert docs["verify"](SECRET, signature, key, body, now=at + docs["TOLERANCE_SECONDS"])
    assert not docs["verify"](SECRET, signature, key, body, now=at + docs["TOLERANCE_SECONDS"] + 1)
    assert not docs["verify"](SECRET, signature, "another-key", body, now=at)
    assert not docs["verify"](SECRET, signature, key, body + b" ", now=at)
    assert not docs["verify"]("wrong-secret", signature, key, body, now=at)
    old_style = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert not docs["verify"](SECRET, old_style, key, body, now=at)
    headers = {"Idempotency-Key": key, "X-Postbot-Signature": signature}
    assert docs["receive"](SECRET, headers, body, now=at) == 200 and docs["receive"](SECRET, headers, body, now=at) == 200
    assert list(docs["seen"]) == [key]
    assert docs["receive"](SECRET, {**headers, "Idempotency-Key": "other"}, body, now=at) == 401
    assert docs["receive"](SECRET, headers, body, now=at + 3600) == 401
