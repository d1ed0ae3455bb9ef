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
from typing import Any, Callable

from benchmarks.common import Result, Row

LENGTHS = (20_000, 40_000)
# A long run may cost at most this many times ordinary words of its length. A dotted `a.a.a…` run
# once had its own allowance (40x); since the bare-domain pattern runs on stdlib re it is held to this.
TARGET_FACTOR = 3.0
GROWTH_LIMIT = 2.6           # 40k / 20k: linear is 2.0
Timings = dict[str, dict[int, float]]     # body name -> length -> best seconds


def _bodies(length: int) -> dict[str, str]:
    raw = bytes(range(256)) * (length // 256 + 1)
    data_uri = "data:image/png;base64," + base64.b64encode(raw).decode()
    return {"one word": ("a" * length),
            "data URI": data_uri[:length],
            "dotted chain": ("a." * length)[:length],
            "ordinary words": ("lorem ipsum dolor " * length)[:length]}


def _best_of(repeats: int, work: Callable[[Any], object], setup: Callable[[], Any] = lambda: None) -> float:
    """The fastest of `repeats` runs of work(setup()); only the work is timed."""
    best = float("inf")
    for _ in range(repeats):
        prepared = setup()
        started = time.perf_counter()
        work(prepared)
        best = min(best, time.perf_counter() - started)
    return best


def _seconds(path: Path, channels, repeats: int) -> float:
    from postbot.posts import load_post
    from postbot.render import Renderer

    def load_and_render(renderer: Renderer) -> None:
        post = load_post(path)
        for channel in channels:
            try:
                renderer.render(post, channel)
            except Exception:          # a run that cannot fit a channel still had to be measured
                pass

    return _best_of(repeats, load_and_render, setup=Renderer)    # no cut points cached from the previous round


def run(quick: bool) -> Result:
    from postbot.config import load_settings

    channels = list(load_settings({"POSTBOT_TIMEZONE": "UTC"}).channels)
    repeats = 1 if quick else 3
    timings: Timings = {}
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
    result.rows += _rows(timings, "", f": load + render x {len(channels)}")
    result.rows += _rows(redacting, "redact, ", "")
    result.details = _details(timings) | {"redact": _details(redacting)}
    return result


def _rows(timings: Timings, prefix: str, suffix: str) -> list[Row]:
    """Each long body against ordinary words of the same length, and its growth from 20k to 40k."""
    rows = []
    for name, by_length in timings.items():
        if name == "ordinary words":
            continue
        for length in LENGTHS:
            baseline = timings["ordinary words"][length]
            rows.append(Row(f"{prefix}{name}, {length // 1000}k chars{suffix}", by_length[length], "s",
                            baseline=baseline, baseline_label="ordinary words, same length",
                            target=baseline * TARGET_FACTOR))
        growth = by_length[LENGTHS[1]] / max(by_length[LENGTHS[0]], 1e-9)
        rows.append(Row(f"{prefix}{name}: time at 40k / time at 20k", growth, "x", target=GROWTH_LIMIT,
                        why="linear is 2.0"))
    return rows


def _details(timings: Timings) -> dict[str, dict[str, float]]:
    return {name: {str(k): round(v, 4) for k, v in by_length.items()} for name, by_length in timings.items()}


def _redact_seconds(repeats: int) -> Timings:
    """redact() over each body, as when a post's words are printed, logged or stored (issue 17.6)."""
    from postbot.redact import redact

    timings: Timings = {}
    redact("warm up: Authorization: Bearer abc12345678")           # compile the patterns first
    for length in LENGTHS:
        bodies = {**_bodies(length), "digits": "1" * length, "webhook paths": ("webhooks/12345/" * length)[:length]}
        for name, body in bodies.items():
            # Milliseconds each: best of several.
            timings.setdefault(name, {})[length] = _best_of(max(repeats, 5), lambda _, body=body: redact(body))
    return timings
