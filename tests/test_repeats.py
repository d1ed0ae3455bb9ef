"""Evergreen re-shares: each one in new words that fit, at the next slot after the interval, and a
clear stop when no new wording is left. X and LinkedIn are played by fakes that refuse duplicate
text as the real ones do (403 duplicate content, 422 DUPLICATE_POST)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from postbot import app
from postbot.errors import PostError, UsageError
from postbot.models import State
from postbot.posts import load_post
from postbot.repeats import parse_repeat
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.x import FakeX, weighted_length
from tests.helpers import NOW, Clock, run_once, seed_post, settings_for, sqlite_store, write_post
from tests.process import postbot
from tests.test_linkedin import TOKEN as LINKEDIN_TOKEN, env_for as linkedin_env
from tests.test_x import oauth1_env

ARTICLE = "\n\n".join([
    "Most dads over forty train like they did at twenty and wonder why their knees complain by Friday.",
    "The fix is not less training but smarter loading: fewer sets, heavier where it counts, more rest.",
    "Goblet squats teach the pattern before the barbell ever touches your back, and they scale for years.",
    "Romanian deadlifts build the hinge that protects your spine when you lift a sleeping toddler.",
    "Three short sessions a week beat one heroic Sunday, because consistency compounds like interest."])


def test_a_recycled_post_goes_out_each_time_in_different_words_on_x_and_linkedin(tmp_path):
    with FakeX() as x, LinkedInFake(today=NOW.date()) as linkedin:
        linkedin.member(LINKEDIN_TOKEN)
        env = oauth1_env(x.url) | linkedin_env(linkedin) | {"POSTBOT_CHANNELS": "x,linkedin"}
        settings = settings_for(env)
        store, clock = sqlite_store(tmp_path), Clock()
        post = seed_post()
        post.repeat = {"every": "30d", "times": 3, "until": None}
        deliveries = app.queue(settings, store, post, at="now", now=NOW)
        assert len(deliveries) == 8 and not any("repeat" in w for w in post.warnings)
        due = sorted({d.due_at for d in deliveries})
        assert due == [NOW + timedelta(days=30 * k) for k in range(4)]
        for k in range(4):
            clock.now = NOW + timedelta(days=30 * k)
            assert run_once(store, settings, clock) == 2
        assert all(d.state is State.PUBLISHED for d in store.list())
        assert len(x.texts()) == len(set(x.texts())) == 4
        commentaries = [p["commentary"] for p in linkedin.posts.values()]
        assert len(commentaries) == len(set(commentaries)) == 4
        assert all(weighted_length(text) <= 280 for text in x.texts())
        # Each re-share opens with a different sentence of the article, not just a different tail.
        assert len({text.split(".")[0] for text in x.texts()}) == 4


def test_re_shares_wait_for_the_next_free_slot_after_the_interval(tmp_path):
    settings = settings_for({"POSTBOT_CHANNELS": "x=outbox", "X_SLOTS": "tue 09:00", "OUTBOX_DIR": str(tmp_path)})
    store = sqlite_store(tmp_path)
    post = load_post(write_post(tmp_path, ARTICLE, title="Train smarter after forty",
                                repeat={"every": "2w", "times": 2}))
    deliveries = app.queue(settings, store, post, now=NOW)            # NOW is Tuesday 1 Dec 2026 09:00
    assert [d.due_at for d in deliveries] == [NOW + timedelta(days=7), NOW + timedelta(days=28),
                                              NOW + timedelta(days=42)]
    assert [d.post_slug for d in deliveries] == ["train-smarter-after-forty", "train-smarter-after-forty-repeat-1",
                                                 "train-smarter-after-forty-repeat-2"]
    texts = [d.parts[0].text for d in deliveries]
    assert len(set(texts)) == 3 and texts[1].startswith("The fix is not less training")


def test_when_no_new_wording_is_left_the_repeat_stops_and_status_says_so(tmp_path):
    settings = settings_for({"POSTBOT_CHANNELS": "x=outbox", "OUTBOX_DIR": str(tmp_path)})
    store = sqlite_store(tmp_path)
    two = "\n\n".join(ARTICLE.split("\n\n")[:2])
    post = load_post(write_post(tmp_path, two, title="Short one", repeat={"every": "30d", "times": 4}))
    deliveries = app.queue(settings, store, post, at="now", now=NOW)
    # The first post opens with paragraph 1, the re-share with paragraph 2; then nothing new is left.
    assert len(deliveries) == 2 and deliveries[1].parts[0].text.startswith("The fix is not less training")
    assert any("no distinct wording left after 1 of 4 re-shares" in w for w in post.warnings)
    [(_, subject, message)] = store.notices()
    assert subject == "post short-one" and "repeat stopped" in message
    data = app.status(settings, store, NOW, offline=True)
    assert data.notices and "no distinct wording" in data.notices[0][2]


def test_until_ends_the_re_shares(tmp_path):
    settings = settings_for({"POSTBOT_CHANNELS": "x=outbox", "OUTBOX_DIR": str(tmp_path)})
    store = sqlite_store(tmp_path)
    post = load_post(write_post(tmp_path, ARTICLE, title="Until", repeat={"every": "30d", "times": 4,
                                                                          "until": "2027-02-15"}))
    assert len(app.queue(settings, store, post, at="now", now=NOW)) == 3      # 1 Dec, 31 Dec, 30 Jan
    assert any("2 of 4 re-shares fit before 2027-02-15" in w for w in post.warnings)


@pytest.mark.parametrize("repeat, message", [
    ({"every": "monthly", "times": 2}, "every 'monthly' is not an interval"),
    ({"every": "30d", "times": 0}, "times 0 must be a whole number from 1 to 52"),
    ({"every": "30d", "times": 2, "until": "soon"}, "until 'soon' is not a date")])
def test_bad_repeat_settings_name_the_fix(repeat, message):
    with pytest.raises(ValueError, match=message):
        parse_repeat(repeat)


def test_a_bad_repeat_in_front_matter_names_the_file_and_line(tmp_path):
    path = tmp_path / "post.md"
    path.write_text("---\ntitle: T\nrepeat: {every: 30d, times: many}\n---\nBody text here.\n", encoding="utf-8")
    with pytest.raises(PostError, match=r"post.md:3: 'repeat': times 'many'"):
        load_post(path)
    path.write_text("---\ntitle: T\nrepeat: {every: 30d, times: 2, count: 3}\n---\nBody.\n", encoding="utf-8")
    with pytest.raises(PostError, match="unknown key 'count'"):
        load_post(path)


def test_preview_repeats_shows_every_planned_share_and_queue_repeat_queues_them(tmp_path):
    env = {"POSTBOT_CHANNELS": "x=outbox,linkedin=outbox", "POSTBOT_TIMEZONE": "UTC",
           "OUTBOX_DIR": str(tmp_path / "out"), "POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'postbot.db'}"}
    path = write_post(tmp_path, ARTICLE, title="Train smarter after forty", repeat={"every": "30d", "times": 2})
    shown = postbot(["preview", str(path), "--repeats", "--json"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert [s["number"] for s in data["shares"]] == [0, 1, 2] and data["stopped"] is None
    x_texts = [r["text"] for s in data["shares"] for r in s["renders"] if r["channel"] == "x"]
    assert len(set(x_texts)) == 3
    text = postbot(["preview", str(path), "--repeats"], env, tmp_path).stdout
    assert "══ first post" in text and "══ re-share 2" in text
    assert json.loads(postbot(["list", "--json"], env, tmp_path).stdout) == []       # a preview writes nothing

    plain = write_post(tmp_path / "p", ARTICLE) if (tmp_path / "p").mkdir() is None else None
    queued = postbot(["queue", str(plain), "--at", "now", "--repeat", "2w", "--times", "3", "--json"], env, tmp_path)
    assert queued.returncode == 0, queued.stderr
    assert [d["channel"] for d in json.loads(queued.stdout)].count("x") == 4
    bad = postbot(["queue", str(plain), "--times", "3"], env, tmp_path)
    assert bad.returncode == 2 and "--repeat EVERY" in bad.stderr


def test_cli_repeat_values_are_checked_before_anything_is_written(tmp_path):
    settings = settings_for({"POSTBOT_CHANNELS": "x=outbox", "OUTBOX_DIR": str(tmp_path)})
    store = sqlite_store(tmp_path)
    post = load_post(write_post(tmp_path, ARTICLE))
    post.repeat = {"every": "30d", "times": 99}
    with pytest.raises(UsageError, match="from 1 to 52"):
        app.queue(settings, store, post, at="now", now=NOW)
    assert store.list() == []
