"""2. Rendering: postbot renders per second in one warm process (the example post x the 10 default
channels), against a bare Jinja2 render of the same template files with the same context."""
from __future__ import annotations

import cProfile
import pstats
import time

from benchmarks.common import REPO, Result, Row

POST = REPO / "posts" / "hip-thrust-alternatives.md"
TARGET_PER_SECOND = 5000
TARGET_HARDEST_PER_SECOND = 1000     # the slowest platform alone (issue 14)


def _rate(action, seconds: float) -> tuple[float, int]:
    action()                                   # warm caches, compile templates
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        count += action()
    return count / elapsed, count


def _bare_jinja(post, channels):
    """The same templates rendered once each by Jinja2 alone: no fitting, no counting, no payloads."""
    import jinja2

    from postbot.render import templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             finalize=lambda value: "" if value is None else value)
    env.globals["link"] = lambda url, label=None: f"{label}: {url}" if label else url
    templates = [env.get_template(channel.template or f"{channel.platform}.j2") for channel in channels]
    context = {"title": post.title, "url": post.url, "ctas": post.ctas, "all_ctas": post.ctas, "tags": post.tags,
               "hashtags": " ".join(f"#{t}" for t in post.tags), "post": post, "channel": "bench",
               "platform": "bench", "link_in_bio": False, "limit": 500,
               "teaser": (post.teaser or post.body)[:400]}

    def render_all() -> int:
        for template in templates:
            template.render(context)
        return len(templates)
    return render_all


def _profile(render_all, seconds: float) -> dict[str, float]:
    """Share of self time per function (C methods included), to say where a miss comes from."""
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    while time.perf_counter() - started < seconds:
        render_all()
    profile.disable()
    stats = pstats.Stats(profile)
    total = sum(v[2] for v in stats.stats.values()) or 1.0
    rows = []
    for (filename, line, name), (_, _, tottime, cumtime, _) in stats.stats.items():
        where = filename.rsplit("/", 1)[-1]
        rows.append((name if where == "~" else f"{where}:{name}", tottime, cumtime))
    by_self = sorted(rows, key=lambda r: -r[1])[:10]
    return {name: round(100 * tottime / total, 1) for name, tottime, _ in by_self}


def run(quick: bool) -> Result:
    from postbot.config import load_settings
    from postbot.posts import load_post
    from postbot.render import Renderer

    seconds = 1.5 if quick else 5.0
    channels = list(load_settings({"POSTBOT_TIMEZONE": "UTC"}).channels)
    post = load_post(POST)
    renderer = Renderer()

    def render_all() -> int:
        for channel in channels:
            renderer.render(post, channel)
        return len(channels)

    rate, count = _rate(render_all, seconds)
    bare_rate, bare_count = _rate(_bare_jinja(post, channels), seconds)
    hot = _profile(render_all, 1.0)
    per_channel = {}
    for channel in channels:             # the best of 5 rounds of 20: the hardest is named steadily
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(20):
                renderer.render(post, channel)
            best = min(best, (time.perf_counter() - started) / 20)
        per_channel[channel.name] = round(best * 1000, 3)
    hardest = next(c for c in channels if c.name == max(per_channel, key=per_channel.get))

    def render_hardest() -> int:
        renderer.render(post, hardest)
        return 1

    hardest_rate, _ = _rate(render_hardest, seconds / 2)
    why = ""
    if rate < TARGET_PER_SECOND:
        top = sorted(hot.items(), key=lambda item: -item[1])[:3]
        why = "self time in " + ", ".join(f"{name} {share:.0f}%" for name, share in top)
    result = Result("render")
    result.rows.append(Row(f"renders/s (post x {len(channels)} channels, warm)", rate, "/s",
                           baseline=bare_rate, baseline_label="bare Jinja2, same templates",
                           target=TARGET_PER_SECOND, higher_is_better=True, why=why))
    slowest = sorted(per_channel.items(), key=lambda item: -item[1])[:3]
    result.rows.append(Row(f"renders/s on the hardest platform alone ({hardest.platform}, warm)", hardest_rate, "/s",
                           baseline=rate, baseline_label="all 10 channels", target=TARGET_HARDEST_PER_SECOND,
                           higher_is_better=True,
                           why="" if hardest_rate >= TARGET_HARDEST_PER_SECOND else
                           "ms per render: " + ", ".join(f"{name} {ms:.2f}" for name, ms in slowest)))
    result.details = {"renders": count, "bare_renders": bare_count, "seconds": seconds,
                      "ms_per_render_by_channel": per_channel, "self_time_percent": hot}
    return result
