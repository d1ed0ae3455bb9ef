"""6. Long words: loading and rendering a post whose body is one 20k- or 40k-character run
(a single word, a base64 data URI, a dotted `a.a.a…` chain) for the 10 default channels,
against a post of the same length made of ordinary words, measured in the same run.

Every text path must be linear or bounded (issue 17): one long word once took 13.8 s at 20k
characters and 46.7 s at 40k. The target is the ordinary-words baseline times a small factor,
and doubling the length must not much more than double the time. The secret filter, redact(), which
every printed, logged or stored text passes, is measured over the same bodies."""
from __future__ import annotations

import base64
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, Row

LENGTHS = (20_000, 40_000)
TARGET_FACTOR = 3.0          # a long run may cost at most this many times ordinary words of its length
# A dotted `a.a.a…` run once had its own allowance (40x); since the bare-domain pattern runs on
# stdlib re it is held to the same factor as the others.
FACTORS: dict[str, float] = {}
GROWTH_LIMIT = 2.6           # 40k / 20k: linear is 2.0


def _bodies(length: int) -> dict[str, str]:
    raw = bytes(range(256)) * (length // 256 + 1)
    data_uri = "data:image/png;base64," + base64.b64encode(raw).decode()
    return {"one word": ("a" * length),
            "data URI": data_uri[:length],
            "dotted chain": ("a." * length)[:length],
            "ordinary words": ("lorem ipsum dolor " * length)[:length]}


def _seconds(path: Path, channels, repeats: int) -> float:
    from postbot.posts import load_post
    from postbot.render import Renderer

    best = float("inf")
    for _ in range(repeats):
        renderer = Renderer()          # no cut points cached from the previous round
        started = time.perf_counter()
        post = load_post(path)
        for channel in channels:
            try:
                renderer.render(post, channel)
            except Exception:          # a run that cannot fit a channel still had to be measured
                pass
        best = min(best, time.perf_counter() - started)
    return best


def run(quick: bool) -> Result:
    from postbot.config import load_settings

    channels = list(load_settings({"POSTBOT_TIMEZONE": "UTC"}).channels)
    repeats = 1 if quick else 3
    timings: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        warm = Path(folder) / "warm.txt"            # compile patterns and templates before timing
        warm.write_text("Warm up. https://example.com a.b #tag\n", encoding="utf-8")
        _seconds(warm, channels, 1)
        for length in LENGTHS:
            for name, body in _bodies(length).items():
                path = Path(folder) / f"{name.replace(' ', '-')}-{length}.txt"
                path.write_text(body + "\n", encoding="utf-8")
                timings.setdefault(name, {})[length] = _seconds(path, channels, repeats)
    redacting = _redact_seconds(repeats)
    result = Result("long_words")
    for name, by_length in timings.items():
        if name == "ordinary words":
            continue
        for length in LENGTHS:
            baseline = timings["ordinary words"][length]
            result.rows.append(Row(f"{name}, {length // 1000}k chars: load + render x {len(channels)}",
                                   by_length[length], "s", baseline=baseline,
                                   baseline_label="ordinary words, same length",
                                   target=baseline * FACTORS.get(name, TARGET_FACTOR)))
        growth = by_length[LENGTHS[1]] / max(by_length[LENGTHS[0]], 1e-9)
        result.rows.append(Row(f"{name}: time at 40k / time at 20k", growth, "x", target=GROWTH_LIMIT,
                               why="linear is 2.0"))
    for name, by_length in redacting.items():
        if name == "ordinary words":
            continue
        for length in LENGTHS:
            result.rows.append(Row(f"redact, {name}, {length // 1000}k chars", by_length[length], "s",
                                   baseline=redacting["ordinary words"][length],
                                   baseline_label="ordinary words, same length",
                                   target=redacting["ordinary words"][length] * TARGET_FACTOR))
        result.rows.append(Row(f"redact, {name}: time at 40k / time at 20k",
                               by_length[LENGTHS[1]] / max(by_length[LENGTHS[0]], 1e-9), "x", target=GROWTH_LIMIT,
                               why="linear is 2.0"))
    result.details = {name: {str(k): round(v, 4) for k, v in by_length.items()}
                      for name, by_length in timings.items()}
    result.details["redact"] = {name: {str(k): round(v, 4) for k, v in by_length.items()}
                                for name, by_length in redacting.items()}
    return result


def _redact_seconds(repeats: int) -> dict[str, dict[int, float]]:
    """redact() over each body, as when a post's words are printed, logged or stored (issue 17.6)."""
    from postbot.redact import redact

    timings: dict[str, dict[int, float]] = {}
    redact("warm up: Authorization: Bearer abc12345678")           # compile the patterns first
    for length in LENGTHS:
        bodies = {**_bodies(length), "digits": "1" * length, "webhook paths": ("webhooks/12345/" * length)[:length]}
        for name, body in bodies.items():
            best = float("inf")
            for _ in range(max(repeats, 5)):        # milliseconds each: best of several
                started = time.perf_counter()
                redact(body)
                best = min(best, time.perf_counter() - started)
            timings.setdefault(name, {})[length] = best
    return timings
