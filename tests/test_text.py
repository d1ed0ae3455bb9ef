"""postbot.text on hard text: emoji sequences, combining marks, CJK, RTL, URLs, long words, mojibake."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import budoux
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbot import text as textlib

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seeds" / "hip-thrust-post.txt"

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"       # 7 code points, 11 UTF-16
THUMB_DARK = "\U0001F44D\U0001F3FF"
FLAG_UA = "\U0001F1FA\U0001F1E6"
KEYCAP_ONE = "1\uFE0F\u20E3"
RAINBOW_FLAG = "\U0001F3F3\uFE0F\u200D\U0001F308"
SCOTLAND = "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"
E_ACUTE_NFD = "e\u0301"


# --- units -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,graphemes,utf8,utf16", [
    ("", 0, 0, 0),
    ("abc", 3, 3, 3),
    (FAMILY, 1, 25, 11),
    (THUMB_DARK, 1, 8, 4),
    (FLAG_UA + FLAG_UA, 2, 16, 8),
    (KEYCAP_ONE, 1, 7, 3),
    (SCOTLAND, 1, 28, 14),
    (E_ACUTE_NFD * 3, 3, 9, 6),
    ("日本語", 3, 9, 3),
    ("مرحبا", 5, 10, 5),
    ("\u0915\u094D\u0937", 1, 9, 3),   # Devanagari conjunct: one extended cluster
    ("\r\n", 1, 2, 2),
])
def test_grapheme_utf8_utf16_lengths(text, graphemes, utf8, utf16):
    assert textlib.grapheme_len(text) == graphemes
    assert len(textlib.graphemes(text)) == graphemes and "".join(textlib.graphemes(text)) == text
    assert textlib.utf8_len(text) == utf8
    assert textlib.utf16_len(text) == utf16


def test_nfc_composes():
    assert textlib.nfc("cafe\u0301") == "caf\u00e9"


# --- generic URLs ----------------------------------------------------------------------------

@pytest.mark.parametrize("text,urls", [
    ("see https://example.com.", ["https://example.com"]),
    ("see https://example.com/a?b=c#d, then", ["https://example.com/a?b=c#d"]),
    ("(https://example.com/x)", ["https://example.com/x"]),
    ("https://en.wikipedia.org/wiki/Primer_(film)", ["https://en.wikipedia.org/wiki/Primer_(film)"]),
    ("(https://en.wikipedia.org/wiki/Primer_(film))", ["https://en.wikipedia.org/wiki/Primer_(film)"]),
    ("[link](https://example.com/md)", ["https://example.com/md"]),
    ('href="https://example.com/q"', ["https://example.com/q"]),
    ("«https://example.com/fr»", ["https://example.com/fr"]),
    ("two http://a.com/x!https://b.org/y?", ["http://a.com/x!https://b.org/y"]),
    ("bare example.com is not a link without schemeless", []),
    ("https://", []),
    ("مرحبا https://example.com/مرحبا!", ["https://example.com/مرحبا"]),
    ("日本語https://example.jp/パス。", ["https://example.jp/パス"]),
    ("xhttps://example.com", []),
])
def test_find_urls(text, urls):
    assert textlib.find_urls(text) == urls


def test_find_urls_schemeless():
    text = "Go to example.com/path, www.example.co.uk or main.py; not e.g. or 3.5 or me@mail.com or foo.baz"
    assert textlib.find_urls(text, schemeless=True) == [
        "https://example.com/path", "https://www.example.co.uk", "https://main.py"]
    spans = textlib.url_spans(text, schemeless=True)
    assert [text[start:end] for start, end, _ in spans] == ["example.com/path", "www.example.co.uk", "main.py"]


def test_url_spans_are_str_indices_after_astral_characters():
    text = f"{FAMILY} https://example.com/x"
    [(start, end, url)] = textlib.url_spans(text)
    assert text[start:end] == url == "https://example.com/x"


# --- X -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,weight", [
    ("Hi http://test.co", 26),
    ("http://test.co", 23),
    ("1\u20E3", 2),
    (FAMILY, 2),
    (FAMILY * 140, 280),
    (FLAG_UA, 2),
    (THUMB_DARK, 2),
    (KEYCAP_ONE, 2),
    (RAINBOW_FLAG, 2),
    (SCOTLAND, 2),
    ("\u00A9", 1),              # text-style copyright sign: a Latin-1 character
    ("\u00A9\uFE0F", 2),        # emoji-style: one emoji
    ("cafe\u0301", 4),          # NFC first
    ("日本語", 6),
    ("\u2014 \u201Cquote\u201D", 9),
    ("see foo.com and bit.ly/abcde", 55),
    ("foo.baz is no URL", 17),
    ("x" * 300, 300),
])
def test_x_length(text, weight):
    assert textlib.x_length(text) == weight


def test_x_parse_reports_validity_and_ranges():
    parsed = textlib.x_parse("日" * 160)
    assert parsed["weightedLength"] == 320 and parsed["valid"] is False
    assert parsed["validRangeEnd"] == 139 and parsed["displayRangeEnd"] == 159
    assert textlib.x_parse("")["valid"] is False


def test_x_length_is_fast_on_a_long_paragraph_without_spaces():
    import time

    text = "あいうえおかきくけこ" * 300 + "版本v1.2です" + "さ" * 2000
    textlib.x_length("warm up")
    began = time.perf_counter()
    assert textlib.x_length(text) == 2 * len(text) - 4  # 'v', '1', '.' and '2' weigh 1
    assert time.perf_counter() - began < 1.0


# --- Mastodon, Threads, Bluesky --------------------------------------------------------------

def test_mastodon_length():
    assert textlib.mastodon_length("hi https://example.com/" + "x" * 100) == 3 + 23
    assert textlib.mastodon_length("hi https://example.com/x", url_length=10) == 13
    assert textlib.mastodon_length("cc @alice@example.social and @bob") == len("cc @alice and @bob")
    assert textlib.mastodon_length("bare example.com counts in full") == len("bare example.com counts in full")
    assert textlib.mastodon_length(f"{FAMILY}{E_ACUTE_NFD}") == 2


def test_threads_length_counts_emoji_as_bytes():
    assert textlib.threads_length("hello") == 5
    assert textlib.threads_length("日本語") == 3
    assert textlib.threads_length(FAMILY) == 25
    assert textlib.threads_length(f"a{THUMB_DARK}b") == 10
    assert textlib.threads_length("\u2764") == 3      # text-style heart: counted as bytes to be safe
    assert textlib.threads_length(E_ACUTE_NFD) == 2


def test_bluesky_facets_shorten_links_and_keep_full_uris():
    text = "New post: https://example.com/blog/2025/07/hip-thrust-is-overrated?ref=bsky #fitness #glutes."
    display, facets = textlib.bluesky_facets(text)
    assert display == "New post: example.com/blog/2025/07... #fitness #glutes."
    raw = display.encode("utf-8")
    link, tag1, tag2 = facets
    full = "https://example.com/blog/2025/07/hip-thrust-is-overrated?ref=bsky"
    assert link["features"] == [{"$type": textlib.LINK, "uri": full}]
    assert raw[link["index"]["byteStart"]:link["index"]["byteEnd"]] == b"example.com/blog/2025/07..."
    assert tag1["features"] == [{"$type": textlib.TAG, "tag": "fitness"}]
    assert raw[tag2["index"]["byteStart"]:tag2["index"]["byteEnd"]] == b"#glutes"


def test_bluesky_offsets_are_utf8_bytes():
    # The worked example from the Bluesky docs (platforms.md): the link starts at byte 74.
    text = "✨ example mentioning @atproto.com to share the URL 👨‍❤️‍👨 https://en.wikipedia.org/wiki/CBOR."
    [link] = textlib.bluesky_detect(text)
    assert link["index"] == {"byteStart": 74, "byteEnd": 108}
    display, [shown] = textlib.bluesky_facets(text)
    assert display.endswith("en.wikipedia.org/wiki/CBOR.")
    assert shown["index"]["byteStart"] == 74


@pytest.mark.parametrize("text,tags", [
    ("#one #two. #3 #3d #日本語", ["one", "two", "3d", "日本語"]),
    ("#" + "a" * 64 + " #" + "b" * 65, ["a" * 64]),
    ("#\uFE0F\u20E3 keycap #ok", ["ok"]),
    ("a#not #yes!?", ["yes"]),
])
def test_bluesky_tags(text, tags):
    found = [f["features"][0]["tag"] for f in textlib.bluesky_detect(text) if f["features"][0]["$type"] == textlib.TAG]
    assert found == tags


def test_short_url():
    assert textlib.short_url("https://example.com/") == "example.com"
    assert textlib.short_url("https://Example.com/a/b") == "example.com/a/b"
    assert textlib.short_url("https://example.com/12345678901234") == "example.com/12345678901234"
    assert textlib.short_url("https://example.com/1234567890123456") == "example.com/123456789012..."
    assert textlib.short_url("mailto:me@example.com") == "mailto:me@example.com"


def test_bluesky_length():
    text = f"{FAMILY} 日本"
    assert (textlib.grapheme_len(text), textlib.utf8_len(text)) == (4, 32)


# --- cut points ------------------------------------------------------------------------------

def test_sentence_cuts():
    text = ("It costs 3.5 dollars. See example.com. Really?! \u201CYes.\u201D (Done.) "
            "e.g. this, U.S. law… 「はい。」次。Visit https://a.com/x.y?z=1. End")
    cuts = textlib.sentence_cuts(text)
    pieces = [text[:cut] for cut in cuts]
    assert [piece[-8:] for piece in pieces] == [
        "dollars.", "ple.com.", "Really?!", "\u201CYes.\u201D", "(Done.)", ". law\u2026",
        " 「はい。」", "「はい。」次。", "?z=1.", ][:len(pieces)] or pieces
    assert text[:cuts[0]].endswith("3.5 dollars.")
    assert all(not text[:cut].endswith(("e.g.", "U.S.")) for cut in cuts)
    assert any(text[:cut].endswith("https://a.com/x.y?z=1.") for cut in cuts)
    assert not any(text[:cut].endswith(("https://a.com/x.", "3.")) for cut in cuts)


def test_word_cuts_latin_and_emoji():
    text = f"Hello world, see https://a.com/x y {FAMILY} z"
    assert [text[:cut] for cut in textlib.word_cuts(text)] == [
        "Hello", "Hello world,", "Hello world, see", "Hello world, see https://a.com/x",
        "Hello world, see https://a.com/x y", f"Hello world, see https://a.com/x y {FAMILY}"]


def test_word_cuts_japanese_follow_budoux_phrases():
    text = "今日は天気です。Pythonで書くのは楽しいです"
    phrases = budoux.load_default_japanese_parser().parse(text)
    expected, position = [], 0
    for phrase in phrases[:-1]:
        position += len(phrase)
        expected.append(position)
    assert textlib.word_cuts(text) == expected
    assert textlib.word_cuts(text, "ja") == expected


@pytest.mark.parametrize("text,lang,loader", [
    ("我们今天去公园玩吧然后回家吃饭", "zh", budoux.load_default_simplified_chinese_parser),
    ("我們今天去公園玩吧然後回家吃飯", "zh-Hant", budoux.load_default_traditional_chinese_parser),
    ("สวัสดีครับวันนี้อากาศดีมาก", None, budoux.load_default_thai_parser),
])
def test_word_cuts_chinese_and_thai(text, lang, loader):
    cuts = textlib.word_cuts(text, lang)
    phrase_ends, position = set(), 0
    for phrase in loader().parse(text):
        position += len(phrase)
        phrase_ends.add(position)
    assert cuts and set(cuts) <= phrase_ends


def test_word_cuts_never_at_a_no_break_space_and_follow_phrases_in_mixed_text():
    assert textlib.word_cuts("10\u00a0km and 5\u202fkg") == [5, 9]
    text = "Hello 世界の皆さん、こんにちは and more"
    cuts = textlib.word_cuts(text, "ja")
    assert {5, 18, 22} <= set(cuts)
    inner = [cut - 6 for cut in cuts if 6 < cut < 18]
    phrase_ends, position = [], 0
    for phrase in budoux.load_default_japanese_parser().parse("世界の皆さん、こんにちは")[:-1]:
        position += len(phrase)
        phrase_ends.append(position)
    assert inner == phrase_ends


def test_long_word_has_no_cut_inside():
    word = "Donaudampfschifffahrtsgesellschaftskapitän" * 5
    assert textlib.word_cuts(word) == []
    assert textlib.word_cuts("a " + word + " b") == [1, 2 + len(word)]


@pytest.mark.parametrize("text,index,ellipsis,result", [
    ("Hello world, and more", 12, True, "Hello world\u2026"),
    ("Hello world -- x", 14, False, "Hello world"),
    ("Hello: (world", 8, True, "Hello\u2026"),
    ("Done. Next", 5, False, "Done."),
    ("日本語、テキスト", 4, True, "日本語\u2026"),
])
def test_cut(text, index, ellipsis, result):
    assert textlib.cut(text, index, ellipsis=ellipsis) == result


# --- property tests for the cut functions ----------------------------------------------------

PIECES = ["word", "Wort", "the", "3.5", "e.g.", "U.S.", "end.", "why?", "wow!", "so…", ",", ";", "-", "—",
          "(aside)", "\u201Cquoted.\u201D", " ", " ", "  ", "\n", "\n\n", FAMILY, THUMB_DARK, FLAG_UA, KEYCAP_ONE,
          SCOTLAND, E_ACUTE_NFD, "日本語の", "文章です。", "中文", "สวัสดี", "مرحبا", "שלום", "\u200F",
          "https://example.com/a_(b).", "http://x.org/?q=1,", "example.com/p", "bit.ly/x", "a" * 40]
TEXTS = st.one_of(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), st.text(max_size=60))


def _assert_valid_cuts(text, cuts, inclusive_end):
    assert cuts == sorted(set(cuts))
    upper = len(text) if inclusive_end else len(text) - 1
    assert all(0 < cut <= upper for cut in cuts)
    boundaries = {0}
    for cluster in textlib.graphemes(text):
        boundaries.add(max(boundaries) + len(cluster))
    assert set(cuts) <= boundaries
    for start, end, _ in textlib.url_spans(text, schemeless=True) + textlib.x_url_spans(text):
        assert not any(start < cut < end for cut in cuts), (text, start, end, cuts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_sentence_cuts_properties(text):
    _assert_valid_cuts(text, textlib.sentence_cuts(text), inclusive_end=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.sampled_from([None, "en", "ja", "zh", "zh-Hant", "th"]))
def test_word_cuts_properties(text, lang):
    _assert_valid_cuts(text, textlib.word_cuts(text, lang), inclusive_end=False)


@settings(max_examples=150, deadline=None)
@given(TEXTS, st.integers(min_value=0, max_value=80), st.booleans())
def test_cut_properties(text, index, ellipsis):
    result = textlib.cut(text, index, ellipsis=ellipsis)
    body = result[:-1] if ellipsis else result
    assert text[:index].startswith(body)
    assert not ellipsis or result.endswith("\u2026")
    assert body == "" or not body[-1].isspace()


# --- hygiene ---------------------------------------------------------------------------------

def test_mojibake_finds_the_seed_damage():
    if not SEED.exists():
        message = f"seed post not found at {SEED}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    text = SEED.read_text("utf-8")
    findings = textlib.mojibake(text)
    assert [(snippet, fix) for _, _, snippet, fix in findings] == [
        ("muscle\u03b2so", "muscle\u2014so"), ("Supply\u03b2whether", "Supply\u2014whether"),
        ("Wars) \u03c0", "Wars)"), ("Training\u03c0", "Training"), ("Coaching\u03c0", "Coaching"),
        ("40\u03c0", "40")]
    line, column, _, _ = findings[0]
    assert text.split("\n")[line - 1][column - 1] == "\u03b2"
    repaired = textlib.repair(text)
    assert "\u03b2" not in repaired and "\u03c0" not in repaired
    assert "muscle\u2014so you'll" in repaired
    assert "Personal Training https://lewisrobinsonfitness.com/personaltraining" in repaired
    assert "with all the Wars)\n" in repaired
    assert textlib.mojibake(repaired) == []


def test_mojibake_classic_and_control_characters():
    text = "Hello doesn\u00e2\u20ac\u2122t work\nbad \ufffd here\nand \x85 there"
    findings = textlib.mojibake(text)
    assert findings[0] == (1, 12, "doesn\u00e2\u20ac\u2122t", "doesn\u2019t")
    assert [(line, column) for line, column, _, fix in findings[1:]] == [(2, 5), (3, 5)]
    assert textlib.repair("doesn\u00e2\u20ac\u2122t") == "doesn\u2019t"


@pytest.mark.parametrize("text", [
    "Ελληνικά κείμενα και Русский текст",
    "naïve café in Zürich, ½ price, ©2024, €10, ¿Qué?",
    "the π constant and 2πr, α-helix",
    "Αθήνα is Athens",
    f"日本語 {FAMILY} مرحبا שלום",
    "\u201Ccurly quotes\u201D and \uff26\uff55\uff4c\uff4c width",
])
def test_clean_text_is_not_flagged_or_changed(text):
    assert textlib.mojibake(text) == []
    assert textlib.repair(text) == text


# --- cold start ------------------------------------------------------------------------------

def test_import_stays_light():
    code = ("import sys, postbot.text; heavy = {'regex', 'ftfy', 'budoux', 'yaml', 'httpx', 'publicsuffixlist'};"
            "print(sorted(heavy & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"


def test_x_tld_folding_of_ascii_matches_the_patterns_own_ignorecase():
    from postbot.text import x

    _, _, folded = x._x_tld_index()
    for code in range(128):
        assert folded[chr(code)] == x._x_fold_tld_char(chr(code)), repr(chr(code))


_TLD_TEXTS = ["see https://Example.COM/a and www.t.co and foo.co.uk.", "x.\u212aim y.\u017fite z.\u0130nfo",
              "купи.РФ и пример.рф/путь, сайт.онлайн", "例え.みんな 中国.中國 a.嘉里大酒店 b.嘉里x",
              "a.comx b.community c.comm d.xn--p1ai e.XN--P1AI/x", "no dots here", "trailing.", "a..b...com",
              "mail@foo.com #tag.com $cash.com e-mail.co_uk.co a_b.c-d.example.org:8080/p?q=1"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["com", "CO", "uk", ".", "..", "x", "\u212a", "\u0130", "рф", "Р", "-", "_", "/",
                                 " ", "xn--", "みんな", "ı", "ſ", "é", "1", "@", "https://", "t.co/"]), max_size=12))
def test_x_url_pattern_with_the_tlds_found_matches_as_with_all_of_them(parts):
    from postbot.text import x

    every = tuple(x._x_tld_index()[0])
    for text in [*_TLD_TEXTS, "".join(parts)]:
        found = x._x_tlds_in(text)
        for start in range(len(text)):
            few, full = x._x_url_pattern(found).match(text, start), x._x_url_pattern(every).match(text, start)
            assert (few and few.span()) == (full and full.span()), (text, start)
            few, full = x._x_ascii_domain(found).search(text, start), x._x_ascii_domain(every).search(text, start)
            assert (few and few.span()) == (full and full.span()), (text, start)
