"""X counting against twitter-text's official conformance data and the npm twitter-text 3.1.0."""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import yaml

from postbot import text as textlib
from tests.reference.node_ref import run_reference

CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "twitter-text"
# Which parseTweet config each validate.yml group runs with (see SOURCE.md beside the data).
WEIGHTED_GROUPS = {
    "WeightedTweetsCounterTest": "v2",
    "WeightedTweetsWithDiscountedEmojiCounterTest": "v3",
    "UnicodeDirectionalMarkerCounterTest": "v3",
}
URL_GROUPS = ("urls", "urls_with_indices", "urls_with_directional_markers", "tco_urls_with_params")


@functools.cache
def load(name: str) -> dict:
    path = CONFORMANCE / name
    if not path.exists():
        message = f"twitter-text conformance data not found at {path} (the shared folder beside the repo)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser reads 300 kB 10x faster
    return yaml.load(path.read_text("utf-8"), Loader=loader)["tests"]


def cases(name: str, groups) -> list:
    try:
        tests = load(name)
    except BaseException:  # collection-time: let the test itself skip or fail with the message
        return [pytest.param(None, None, id=f"{name}-missing")]
    return [pytest.param(group, case, id=f"{group}-{number}")
            for group in groups for number, case in enumerate(tests[group])]


@pytest.mark.parametrize("group,case", cases("validate.yml", WEIGHTED_GROUPS))
def test_weighted_length_conformance(group, case):
    if case is None:
        load("validate.yml")
    assert textlib.x_parse(case["text"], WEIGHTED_GROUPS[group]) == case["expected"], case["description"]


def test_all_44_weighted_cases_are_there():
    tests = load("validate.yml")
    assert sum(len(tests[group]) for group in WEIGHTED_GROUPS) == 44


@pytest.mark.parametrize("group,case", cases("extract.yml", URL_GROUPS))
def test_url_extraction_conformance(group, case):
    if case is None:
        load("extract.yml")
    found = textlib.x_extract_urls(case["text"])
    if isinstance(case["expected"][0] if case["expected"] else "", dict):
        assert [{"url": url, "indices": [start, end]} for start, end, url in found] == case["expected"]
    else:
        assert [url for _, _, url in found] == case["expected"], case["description"]


def test_every_tld_of_twitter_text_is_extracted():
    tests = load("tlds.yml")
    all_cases = tests["country"] + tests["generic"]
    # One text with every case, space separated, extracts the same URLs in one pass.
    found = [url for _, _, url in textlib.x_extract_urls(" ".join(case["text"] for case in all_cases))]
    assert found == [url for case in all_cases for url in case["expected"]]
    assert len(tests["country"]) + len(tests["generic"]) == 1574


def test_x_url_spans_add_a_scheme_to_bare_domains():
    text = "go to example.com/a or https://t.co/abc"
    assert textlib.x_url_spans(text) == [(6, 19, "https://example.com/a"), (23, 39, "https://t.co/abc")]
    assert textlib.x_length(text) == len("go to  or ") + 46


def test_unknown_config_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown twitter-text config 'v9'"):
        textlib.x_parse("hi", "v9")


# --- against the npm package, on strings the conformance data does not cover -----------------

HARD_TEXTS = [
    "plain",
    "",
    "cafe\u0301 NFD",
    "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466" * 2,
    "\U0001F1FA\U0001F1E6 \U0001F1EF\U0001F1F5 flags",
    "\U0001F44D\U0001F3FD\U0001F44D\U0001F3FF skin tones",
    "1\uFE0F\u20E3 #\uFE0F\u20E3 *\uFE0F\u20E3 1\u20E3 keycaps",
    "\u00A9\u00AE \u00A9\uFE0F \u2122 text-style",
    "\u2764 \u2764\uFE0F \u2764\uFE0E hearts",
    "\U0001F3F3\uFE0F\u200D\U0001F308 \U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",
    "日本語のテキスト" * 20,
    "مرحبا بالعالم https://example.com",
    "שלום example.co.il/path",
    "see example.com, foo.bar, bit.ly/abc and t.co/xyz",
    "https://t.co/abcdefg?x=1 more",
    "http://example.com/(paren)/x) end",
    "https://en.wikipedia.org/wiki/Primer_(film).",
    "x" * 300,
    "a" * 279 + "\U0001F642",
    "word " * 60,
    "\u200E\u200F marks https://twitter.com/ \u202A\u202C",
    "invalid \uFFFE char",
    "\uFEFFbom",
    "email me@example.com and @user",
    "中文example.com中文",
    "e\u0301\u0301\u0301 combining Z\u0336\u0335a\u0337",
    "https://example.com/" + "a" * 5000,
    "\r\n windows\r\nlines",
    "tab\texample.com/x\tafter",
    "long " * 50 + "\U0001F642" * 30,
    "Read https://www.example.com/path?query=1&b=2#frag, then http://sub.domain.example.org:8080/x.",
    "\U0001F469\U0001F3FD\u200D\U0001F4BB \U0001F64B\U0001F3FD\u200D\u2642\uFE0F \U0001F64B\u200D\u2642",
]


@pytest.fixture(scope="module")
def reference():
    differences = ["\U0001F9D1\u200D\U0001F91D\u200D\U0001F9D1", "\U0001F1E6\U0001F1E6"]
    return run_reference({"twitter": HARD_TEXTS + differences})["twitter"]


@pytest.mark.parametrize("index", range(len(HARD_TEXTS)), ids=[t[:24] for t in HARD_TEXTS])
def test_parse_tweet_matches_npm_twitter_text(reference, index):
    text = HARD_TEXTS[index]
    assert textlib.x_parse(text) == reference[index]["parsed"]
    expected_urls = [(u["indices"][0], u["indices"][1], u["url"]) for u in reference[index]["urls"]]
    assert [(textlib.utf16_len(text[:s]), textlib.utf16_len(text[:e]), url)
            for s, e, url in textlib.x_extract_urls(text)] == expected_urls


def test_known_differences_from_twitter_text_3_1_0(reference):
    # twitter-text 3.1.0 knows emoji up to Unicode 11: it weighs the Unicode 12 "people holding
    # hands" sequence part by part (8). X documents any emoji sequence as 2, which postbot follows.
    assert reference[len(HARD_TEXTS)]["parsed"]["weightedLength"] == 8
    assert textlib.x_length("\U0001F9D1\u200D\U0001F91D\u200D\U0001F9D1") == 2
    # A pair of regional indicators that names no country is two letters to twitter-text (4);
    # postbot counts any pair as one flag (2).
    assert reference[len(HARD_TEXTS) + 1]["parsed"]["weightedLength"] == 4
    assert textlib.x_length("\U0001F1E6\U0001F1E6") == 2
