"""The retry policy as a table: error x platform x attempts -> what happens to the delivery."""
from __future__ import annotations

from datetime import timedelta

import pytest

from postbot.errors import Ambiguous, AuthExpired, ConfigError, PublishError, RateLimited, Rejected, Retryable
from postbot.models import Delivery, State
from postbot.policy import Backoff, decide
from tests.helpers import NOW

LATER = NOW + timedelta(minutes=10)
SOON = NOW + timedelta(seconds=5)
BACKOFF = NOW + timedelta(seconds=30)          # base 30 s, first attempt, no jitter


def delivery(attempts: int = 1) -> Delivery:
    return Delivery(id=7, post_id=1, post_slug="p", channel="x", platform="x", due_at=NOW,
                    state=State.PUBLISHING, idempotency_key="k", attempts=attempts)


# error, the platform deduplicates, attempts so far -> state, attempt label, run_at, channel held until,
# attempt refunded, 'sending' mark cleared
TABLE = [
    (RateLimited("429", until=LATER), False, 1, State.SCHEDULED, "rate_limited", LATER, LATER, True, True),
    (RateLimited("429", until=LATER), True, 3, State.SCHEDULED, "rate_limited", LATER, LATER, True, True),
    (RateLimited("taken, then 429", until=LATER, sent=True), False, 1, State.UNKNOWN, "unknown", None, LATER,
     False, False),
    (RateLimited("taken, then 429", until=LATER, sent=True), True, 1, State.SCHEDULED, "rate_limited", LATER,
     LATER, True, True),
    (Rejected("400 bad text"), False, 1, State.FAILED, "failed", None, None, False, False),
    (AuthExpired("401 after the refresh"), True, 1, State.FAILED, "failed", None, None, False, False),
    (ConfigError("set X_API_KEY"), False, 1, State.FAILED, "failed", None, None, False, True),
    (Retryable("refused", sent=False), False, 1, State.SCHEDULED, "retry", BACKOFF, None, False, True),
    (Retryable("refused", sent=False), False, 3, State.FAILED, "failed", None, None, False, True),
    (Retryable("503", sent=True, status=503), False, 1, State.UNKNOWN, "unknown", None, None, False, False),
    (Retryable("503", sent=True, status=503), True, 1, State.SCHEDULED, "retry", BACKOFF, None, False, False),
    (Retryable("503", sent=True, after=LATER), True, 1, State.SCHEDULED, "retry", LATER, None, False, False),
    (Retryable("503", sent=True, after=SOON), True, 1, State.SCHEDULED, "retry", BACKOFF, None, False, False),
    (Retryable("503", sent=True), True, 3, State.FAILED, "failed", None, None, False, False),
    (Ambiguous("no id in the answer"), False, 1, State.UNKNOWN, "unknown", None, None, False, False),
    (Ambiguous("no id in the answer"), True, 1, State.SCHEDULED, "retry", BACKOFF, None, False, False),
    (PublishError("odd answer", sent=False), False, 1, State.UNKNOWN, "unknown", None, None, False, False),
]


@pytest.mark.parametrize("error, dedupes, attempts, state, label, run_at, hold, refund, clear", TABLE,
                         ids=[f"{type(row[0]).__name__}-{row[0]}-dedupes={row[1]}-attempts={row[2]}" for row in TABLE])
def test_decide(error, dedupes, attempts, state, label, run_at, hold, refund, clear):
    outcome = decide(error, delivery(attempts), NOW, dedupes=dedupes, max_attempts=3, backoff=Backoff(jitter=0))
    assert (outcome.state, outcome.label, outcome.run_at, outcome.hold_until, outcome.refund,
            outcome.clear_sending) == (state, label, run_at, hold, refund, clear)


def test_messages_name_the_next_step():
    d = delivery(3)
    backoff = Backoff(jitter=0)
    gave_up = decide(Retryable("refused", sent=False), d, NOW, dedupes=True, max_attempts=3, backoff=backoff)
    assert gave_up.error == "gave up after 3 attempts; last error: refused"
    unknown = decide(Ambiguous("no id"), d, NOW, dedupes=False, max_attempts=3, backoff=backoff)
    assert "postbot retry 7" in unknown.error and "postbot cancel 7" in unknown.error
    config = decide(ConfigError("channel x: set X_API_KEY"), d, NOW, dedupes=False, max_attempts=3,
                    backoff=backoff, parts_done=2)
    assert config.error == ("not sent: channel x: set X_API_KEY; the 2 part(s) already published stay published "
                            "and are not sent again; fix the setting, then `postbot retry 7`")
    retry = decide(Retryable("503", sent=True), delivery(1), NOW, dedupes=True, max_attempts=3, backoff=backoff)
    assert retry.error == f"retrying at {BACKOFF.isoformat()}: 503"


def test_backoff_doubles_up_to_the_cap():
    backoff = Backoff(base=30, cap=100, jitter=0)
    assert [backoff.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
