"""What the CLI shows about sources (feeds, watched folders) and notices: JSON shapes and text."""
from __future__ import annotations

from typing import Any

from postbot.models import iso_utc


def _local(value: str | None, settings) -> str:
    from datetime import datetime
    if not value:
        return "-"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(settings.zone()).strftime("%Y-%m-%d %H:%M %Z")


def _every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def added_json(feed, found, settings) -> dict[str, Any]:
    options = feed.options
    channels = options.get("channels") or [c.name for c in settings.post_channels]
    newest = found.items[-1] if found.items else None
    return {"feed": feed.to_json(), "title": found.title, "kind": found.kind, "items": len(found.items),
            "newest": {"title": newest.title, "link": newest.link,
                       "published": iso_utc(newest.published)} if newest else None,
            "first_poll": {"queue": [i.title for i in found.would_queue],
                           "mark_seen": len(found.items) - len(found.would_queue), "channels": channels}}


def added_text(data: dict[str, Any]) -> str:
    feed, first = data["feed"], data["first_poll"]
    lines = [f"added feed {feed['name']}: {data['title']} ({data['kind']}, {data['items']} items) {feed['url']}"]
    if data["newest"]:
        lines.append(f"  newest: {data['newest']['title']}  {data['newest']['link'] or ''}".rstrip())
    queue = ", ".join(repr(t) for t in first["queue"]) or "nothing"
    lines.append(f"  first poll: queues {queue} into the next free slots of {', '.join(first['channels'])}; "
                 f"marks {first['mark_seen']} older item(s) as seen")
    lines.append(f"  then: polls every {_every(feed['options']['every'])} (conditional requests), queuing each new "
                 f"item once; `postbot run` polls, `postbot feeds check {feed['name']}` shows what it would queue")
    return "\n".join(lines)


def feeds_json(feeds) -> list[dict[str, Any]]:
    """feeds: [(Feed, item counts per state)] as app.list_feeds gives them."""
    return [feed.to_json() | {"items": counts} for feed, counts in feeds]


def feeds_text(data: list[dict[str, Any]], settings) -> str:
    if not data:
        return "no feeds; add one with `postbot feeds add URL`"
    lines = []
    for feed in data:
        counts = ", ".join(f"{state} {count}" for state, count in sorted(feed["items"].items())) or "no items yet"
        lines.append(f"{feed['name']}  {feed['url']}  every {_every(feed['options']['every'])}")
        lines.append(f"  last poll: {_local(feed['last_poll_at'], settings)}  {feed['last_result'] or 'never polled'}")
        lines.append(f"  next poll: {_local(feed['next_poll_at'], settings)}   items: {counts}")
    return "\n".join(lines)


def check_json(check) -> dict[str, Any]:
    """check: app.FeedCheck."""
    from postbot.output import preview_json
    found = check.found
    return {"url": found.url, "title": found.title, "kind": found.kind, "items": len(found.items),
            "would_queue": [preview_json(preview) | {"link": preview.post.url} for preview in check.previews],
            "failures": check.failures}


def check_text(data: dict[str, Any], settings) -> str:
    from postbot.output import preview_text
    lines = [f"{data['title']} ({data['kind']}, {data['items']} items) {data['url']}"]
    if not data["would_queue"]:
        lines.append("nothing new: a poll now would queue nothing")
    else:
        lines.append(f"a poll now would queue {len(data['would_queue'])} item(s) into the next free slots:")
    for preview in data["would_queue"]:
        lines.append("")
        lines.append(preview_text(preview, settings))
    for failure in data["failures"]:
        lines.append(f"! cannot be queued: {failure}")
    return "\n".join(lines)


def status_json(status) -> dict[str, Any]:
    """The part of `status` about sources: each feed's last poll and what it queued, and notices."""
    return {"feeds": feeds_json(status.feeds),
            "notices": [{"at": iso_utc(at), "subject": subject, "message": message}
                        for at, subject, message in status.notices]}


def status_text(data: dict[str, Any], settings) -> str:
    lines = []
    if data["feeds"]:
        lines.append("feeds:")
        for feed in data["feeds"]:
            queued = feed["items"].get("queued", 0)
            lines.append(f"  {feed['name']:<12} last poll {_local(feed['last_poll_at'], settings)}: "
                         f"{feed['last_result'] or 'never polled'}; {queued} queued in all")
    if data["notices"]:
        lines.append("notices:")
        lines.extend(f"  {_local(n['at'], settings)} {n['subject']}: {n['message']}" for n in data["notices"])
    return "\n".join(lines)
