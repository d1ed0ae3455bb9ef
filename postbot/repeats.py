"""Evergreen re-shares: a post goes out again every so often, each time in different words.

X (error 187, "duplicate content") and LinkedIn (422 DUPLICATE_POST) refuse a text they have
already seen from the account, and readers skip one they have already read. So each re-share's
teaser is cut from another passage of the article (the next paragraph that opens a thought
with a sentence no earlier post on any channel opened with),
rendered and fitted by the renderer exactly like the first (as a written teaser), and kept only if its text differs
from every earlier one on every channel. When no passage gives new text, the re-shares stop
there and say so (a notice in `postbot status`).

`repeat: {every: 30d, times: 4, until: 2027-06-01}`: four re-shares after the first post, one
every 30 days (each at the channel's next free slot after that), none after 1 June 2027.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from postbot.errors import RenderError
from postbot.models import Post, Render

_EVERY = re.compile(r"^(\d+)\s*([hdw])$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_TIMES = 52
MIN_PASSAGE = 40            # characters: shorter paragraphs (a heading, a list line) open no new teaser
_LIST_LINE = re.compile(r"^(\u2022 |\d+\. )")


@dataclass(frozen=True)
class Repeat:
    every: timedelta
    times: int
    until: date | None = None


def parse_repeat(data: dict[str, Any], what: str = "--repeat") -> Repeat:
    """{every: '30d', times: 4, until: '2027-06-01'} -> Repeat; ValueError names what is wrong."""
    every = str(data.get("every") or "").strip().lower()
    match = _EVERY.match(every)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{what}: every {every or '(missing)'!r} is not an interval; use hours, days or weeks "
                         f"such as 30d, 2w or 36h")
    times = data.get("times")
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_TIMES:
        raise ValueError(f"{what}: times {times!r} must be a whole number from 1 to {MAX_TIMES} "
                         f"(how many re-shares after the first post)")
    until = data.get("until")
    if until is not None:
        try:
            until = date.fromisoformat(str(until))
        except ValueError:
            raise ValueError(f"{what}: until {until!r} is not a date; write it as 2027-06-01") from None
    return Repeat(int(match.group(1)) * _UNIT[match.group(2)], times, until)


def passages(post: Post) -> list[str]:
    """Teaser sources for re-shares, in order: the article from each paragraph that opens a thought
    (long enough, not a list line). One that renders what the first post said is skipped by the
    caller, so whether the first post used a written teaser, the hook or the lead does not matter."""
    paragraphs = [p.strip() for p in post.body.split("\n\n") if p.strip()]
    starts = [i for i, p in enumerate(paragraphs) if len(p) >= MIN_PASSAGE and not _LIST_LINE.match(p)]
    return ["\n\n".join(paragraphs[i:]) for i in starts]


def render_text(render: Render) -> str:
    """What a platform compares for duplicates: every part's exact text."""
    return "\n\n".join(part.text for part in render.parts) if render.parts else render.text


@dataclass
class Reshare:
    number: int                     # 1 for the first re-share
    post: Post                      # the stored post: its own slug, its teaser from another passage
    planned: list[Any]              # app.Planned, one per channel


@dataclass
class RepeatPlan:
    reshares: list[Reshare] = field(default_factory=list)
    wanted: int = 0
    stopped: str | None = None      # why there are fewer than wanted


def plan_repeats(post: Post, first: list[Any], repeat: Repeat, settings, store, renderer, now: datetime) -> RepeatPlan:
    """The re-shares of `post` after its first deliveries `first` (app.Planned): a time and a distinct
    text per channel each. Nothing is written."""
    from postbot.app import Planned, channel_rules
    from postbot.times import next_free_slot, parse_slots

    zone = settings.zone()
    channels = [p.channel for p in first]
    rules, _ = channel_rules(channels, store)
    seen = {p.channel.name: {render_text(p.render)} for p in first}
    taken = {p.channel.name: store.taken_slots(p.channel.name, now) | {p.due_at} for p in first}
    start = min(p.due_at for p in first)
    sources = iter(passages(post))
    result = RepeatPlan(wanted=repeat.times)
    for number in range(1, repeat.times + 1):
        target = start + number * repeat.every
        if repeat.until and target.astimezone(zone).date() > repeat.until:
            result.stopped = f"{number - 1} of {repeat.times} re-shares fit before {repeat.until.isoformat()}"
            break
        found = _distinct_wording(post, channels, rules, renderer, seen, sources)
        if found is None:
            result.stopped = (f"no distinct wording left after {number - 1} of {repeat.times} re-shares "
                              f"(every later passage renders a text already used on some channel)")
            break
        variant, renders = found
        planned = []
        for channel in channels:
            due = target
            if channel.slots:
                due = next_free_slot(parse_slots(channel.slots, channel.var("SLOTS")), target, zone, taken[channel.name])
            taken[channel.name].add(due)
            seen[channel.name].add(render_text(renders[channel.name]))
            planned.append(Planned(channel, renders[channel.name], due))
        stored = replace(variant, slug=f"{post.slug}-repeat-{number}", repeat=None)
        result.reshares.append(Reshare(number, stored, planned))
    return result


def _distinct_wording(post, channels, rules, renderer, seen, sources) -> tuple[Post, dict[str, Render]] | None:
    """The next passage whose render differs from every earlier text on every channel: the post
    with that teaser, and its render per channel."""
    for source in sources:
        opening = _opening(source)
        if any(text.startswith(opening) for texts in seen.values() for text in texts):
            continue                    # an earlier post already opened with this: the same hook again
        # The slug stays the post's so links carry the same utm_campaign: only the words change.
        variant = replace(post, teaser=source, repeat=None)
        renders: dict[str, Render] = {}
        for channel in channels:
            try:
                render = renderer.render(variant, channel, rules[channel.name])
            except RenderError:
                break
            if render_text(render) in seen[channel.name]:
                break
            renders[channel.name] = render
        else:
            return variant, renders
    return None


def _opening(passage: str) -> str:
    """A passage's first sentence: what a reader sees first, so what must be new."""
    from postbot.text import sentence_cuts

    first = passage.split("\n", 1)[0]
    cuts = sentence_cuts(first)
    return first[:cuts[0]].strip() if cuts else first.strip()
