"""Optional model-written teasers: used only when postbot's own counting accepts them."""
from __future__ import annotations

import json

import pytest

from postbot.config import load_settings
from postbot.errors import ConfigError
from postbot.models import Channel
from postbot.render import Renderer
from postbot.render.rewrite import Rewriter
from tests.fakes.openai import KEY, FakeChat
from tests.fakes.server import Reply
from tests.helpers import seed_path, seed_post
from tests.process import postbot

GOOD = "Would I give the Hip Thrust to my clients? No. Here is what I program instead, and why."
HOOK = "Well the answer is a big resounding NO!"


@pytest.fixture
def chat():
    with FakeChat() as server:
        yield server


def render(chat, platform, answer, timeout=5.0):
    chat.answers = [answer]
    renderer = Renderer(rewriter=Rewriter(chat.base_url, "llama3.1", KEY, timeout))
    return renderer.render(seed_post(repair=True), Channel(name=platform, kind="outbox", platform=platform))


def test_a_good_answer_becomes_the_teaser_after_the_checks(chat):
    result = render(chat, "x", GOOD)
    assert result.text.startswith(GOOD) and result.fits and result.length <= 280
    assert any("teaser written by llama3.1" in w for w in result.warnings)
    [request] = chat.requests
    asked = request.json()
    assert asked["model"] == "llama3.1"
    prompt = asked["messages"][-1]["content"]
    assert "x post" in prompt and "At most " in prompt and "Do I think the Hip Thrust" in prompt
    room = int(prompt.split("At most ", 1)[1].split(" ", 1)[0])
    assert 100 < room < 280                                # the room the template leaves, not the whole limit
    assert KEY not in json.dumps(result.to_dict())


@pytest.mark.parametrize("answer,why", [
    ("Hip thrusts? " + "Absolutely not worth it for anyone who trains. " * 12, "the post would be"),
    ("Read my full take at https://hipthrust-truth.example.com/no before your next leg day.", "carries a link"),
    (Reply(500, {"error": {"message": "model overloaded"}}), "HTTP 500"),
    (Reply(200, {"unexpected": True}), "not an OpenAI-style chat completion"),
    (Reply(200, {"choices": [{"message": {"role": "assistant", "content": "  "}}]}), "the answer is empty"),
])
def test_a_bad_answer_is_rejected_and_the_extractive_teaser_used(chat, answer, why):
    result = render(chat, "x", answer)
    assert HOOK in result.text and result.fits and result.length <= 280
    assert any(why in w and "using postbot's own teaser" in w for w in result.warnings), result.warnings
    assert "hipthrust-truth" not in result.text


def test_a_slow_endpoint_times_out_and_the_extractive_teaser_is_used(chat):
    result = render(chat, "bluesky", Reply(200, {}, delay=1.0), timeout=0.2)
    assert HOOK in result.text and any("no answer within 0.2 s" in w for w in result.warnings)


def test_an_unreachable_endpoint_falls_back(chat):
    renderer = Renderer(rewriter=Rewriter("http://127.0.0.1:9/v1", "m", "", 1.0))
    result = renderer.render(seed_post(repair=True), Channel(name="x", kind="outbox", platform="x"))
    assert HOOK in result.text and any("cannot reach POSTBOT_LLM_URL" in w for w in result.warnings)


def test_a_written_teaser_never_asks_the_model(chat, tmp_path):
    post = seed_post(repair=True)
    post.teaser = "My own words."
    chat.answers = [GOOD]
    Renderer(rewriter=Rewriter(chat.base_url, "m", KEY)).render(post, Channel(name="x", kind="outbox", platform="x"))
    assert chat.requests == []


def test_settings_need_a_model_and_an_http_url():
    assert load_settings({}).llm is None                                   # off by default
    with pytest.raises(ConfigError, match="POSTBOT_LLM_MODEL is not"):
        load_settings({"POSTBOT_LLM_URL": "http://localhost:11434/v1"})
    with pytest.raises(ConfigError, match="is not an http"):
        load_settings({"POSTBOT_LLM_URL": "localhost:11434", "POSTBOT_LLM_MODEL": "m"})


def test_cli_preview_uses_the_model_and_never_shows_the_key(chat, tmp_path):
    chat.answers = [GOOD]
    env = {"POSTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "POSTBOT_CHANNELS": "x=outbox",
           "OUTBOX_DIR": str(tmp_path / "out"), "POSTBOT_LLM_URL": chat.base_url, "POSTBOT_LLM_MODEL": "llama3.1",
           "POSTBOT_LLM_API_KEY": KEY}
    result = postbot(["preview", str(seed_path()), "--repair"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert GOOD in result.stdout and KEY not in result.stdout + result.stderr
